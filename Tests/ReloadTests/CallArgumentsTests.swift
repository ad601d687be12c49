import CRemap
import Reload
import XCTest

/// `Objects.call` keeps its arguments alive for the whole call: they may be
/// referenced from nothing but the Swift array it was given, which Boehm
/// does not scan.
final class CallArgumentsTests: ModuleTestCase {
    /// Fresh strs and lists, also held by `holder` while they are made.
    @inline(never)
    func freshArguments(_ count: Int, _ holder: Object) throws -> [Object] {
        try (0..<count).map { i in
            let list = try check(rm_list_new(0))
            try check(rm_list_append(holder, list))
            try check(rm_list_append(list, try Objects.string("item-\(i)-\(String(repeating: "y", count: 40))")))
            let made = i % 2 == 0 ? try Objects.string("arg-\(i)-\(String(repeating: "x", count: 40))") : list
            try check(rm_list_append(holder, made))
            return made
        }
    }

    func testArgumentsSurviveCollectionsDuringTheCall() throws {
        let count = 16
        loader.define(ModuleDefinition("churner") { m in
            try m.function("churn") { args in
                // Collect, then allocate enough objects of the arguments'
                // sizes to reuse any memory that was freed.
                Runtime.shared.collect()
                let keep = try check(rm_list_new(0))
                let held = try Ref(keep)
                for i in 0..<20_000 {
                    try check(rm_list_append(held.object, try Objects.string("junk-\(i)-\(String(repeating: "z", count: 40))")))
                    if i % 4 == 0 { try check(rm_list_append(held.object, try check(rm_list_new(0)))) }
                }
                Runtime.shared.collect()
                var bad = 0
                for (i, arg) in args.enumerated() {
                    if i % 2 == 0 {
                        if !rm_is_str(arg) || String(cString: rm_str_cstr(arg)) != "arg-\(i)-\(String(repeating: "x", count: 40))" { bad += 1 }
                    } else {
                        if !rm_is_list(arg) || rm_list_size(arg) != 1 { bad += 1; continue }
                        let item = rm_list_get(arg, 0)!
                        if !rm_is_str(item) || String(cString: rm_str_cstr(item)) != "item-\(i)-\(String(repeating: "y", count: 40))" { bad += 1 }
                    }
                }
                return try Objects.int(bad)
            }
        })
        try runtime.withLock {
            try loader.load("churner")
            let churn = try Ref(try loader.resolve("churner.churn"))
            for _ in 0..<3 {
                // Made while a list holds them (a collection may run between
                // two allocations, RM_GC_STRESS makes sure of it), then the
                // list lets go: from here on only the array refers to them.
                let holder = try Ref(try check(rm_list_new(0)))
                let args = try freshArguments(count, holder.object)
                holder.object = Objects.none
                let bad = try Objects.call(churn.object, args)
                XCTAssertEqual(try Objects.intValue(bad), 0, "arguments were freed during the call")
            }
            try runtime.checkHeap()
        }
    }
}
