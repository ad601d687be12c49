import Foundation
import XCTest

/// `reloadctl get` takes paths and prints every field (issue 20 item 9):
/// `shop.items[1].price`, `shop.Item.warehouse`, `shop.prices["green tea"]`,
/// and an instance's class defaults, which it has not written.
final class GetPathTests: HostTestCase {
    static let shop = """
        #include <remap/module.h>
        RM_MODULE_ABI;
        int rm_module_init(rm_builder *m) {
            rm_object *item = rm_def_class(m, "Item", NULL);
            if (!item || rm_def_field(item, "price", rm_int(0)) < 0) return -1;
            if (rm_def_field(item, "warehouse", rm_str("north")) < 0) return -1;
            rm_object *items = rm_list_new(0), *prices = rm_dict_new();
            if (!items || !prices) return -1;
            for (int i = 0; i < 3; i++) {
                rm_object *it = rm_instance_new(item, NULL, 0);
                if (!it || rm_setattr(it, "price", rm_int(10 * i)) < 0 || rm_list_append(items, it) < 0) return -1;
            }
            if (rm_dict_set_str(prices, "green tea", rm_int(4)) < 0) return -1;
            if (rm_dict_set(prices, rm_int(7), rm_str("seven")) < 0) return -1;
            if (!rm_def_state(m, "items", items) || !rm_def_state(m, "prices", prices)) return -1;
            return 0;
        }
        """

    func get(_ args: String...) throws -> Processes.Result {
        try Processes.run(Processes.reloadctl, ["get"] + args + ["--socket", socketPath])
    }

    func testGetFollowsPathsAndPrintsEveryField() throws {
        try Self.shop.write(toFile: folder.path + "/shop.c", atomically: true, encoding: .utf8)
        let host = try HostProcess(folder: folder.path, socket: socketPath)
        defer { host.stop() }
        XCTAssertTrue(host.waitFor("serving", timeout: 120), host.log)

        XCTAssertEqual(try get("shop.items[1].price").stdout, "10\n", host.log)
        XCTAssertEqual(try get("shop.items[-1].price").stdout, "20\n")
        XCTAssertEqual(try get("shop.Item.warehouse").stdout, "\"north\"\n")
        XCTAssertEqual(try get(#"shop.prices["green tea"]"#).stdout, "4\n")
        XCTAssertEqual(try get("shop.prices[7]").stdout, "\"seven\"\n")
        // The instance never wrote warehouse: its class default is printed too.
        let item = try get("shop.items[2]", "--json")
        let reply = try JSONSerialization.jsonObject(with: Data(item.stdout.utf8)) as? [String: Any]
        let fields = (reply?["value"] as? [String: Any])?["fields"] as? [String: Any]
        XCTAssertEqual(fields?["price"] as? Int, 20, item.stdout)
        XCTAssertEqual(fields?["warehouse"] as? String, "north", item.stdout)

        for (path, expected) in [("shop.items[3]", "IndexError"), (#"shop.prices["oolong"]"#, "KeyError"),
                                 ("shop.items[x]", "bad path"), ("shop.items[1", "bad path")] {
            let result = try get(path)
            XCTAssertNotEqual(result.status, 0, path)
            XCTAssertTrue(result.stderr.contains(expected), "\(path): \(result.stderr)")
        }
        XCTAssertEqual(try get("shop.items[0].price").stdout, "0\n", "the host keeps serving")
    }
}
