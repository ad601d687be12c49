import CRemap
import Reload
import XCTest

/// rm_args_parse, the checked way a module reads its arguments (issue 20,
/// bug 7: `rm_int_value` read whatever was there, so `spawn("abc")` spawned
/// 3 and `spawn(1.5)` looped 4.6e18 times holding the lock). Every letter
/// through a real C module (Tests/Modules/args.c): right arguments are read,
/// wrong ones are a TypeError naming the function and the argument.
final class ArgsParseTests: ModuleTestCase {
    typealias Obj = UnsafeMutablePointer<rm_object>

    override func setUpWithError() throws {
        try super.setUpWithError()
        try folder.buildModule("args", from: "args.c", version: 1)
        try runtime.withLock { _ = try loader.load("args") }
    }

    /// The error calling `name` with `args` fails with.
    func failure(_ name: String, _ args: [Obj], file: StaticString = #filePath, line: UInt = #line) -> RemapError? {
        do {
            let result = try loader.call(name, args)
            XCTFail("\(name) returned \(Objects.describe(result))", file: file, line: line)
        } catch let error as RemapError {
            return error
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return nil
    }

    func assertTypeError(_ name: String, _ args: [Obj], _ message: String,
                         file: StaticString = #filePath, line: UInt = #line) {
        let error = failure(name, args, file: file, line: line)
        XCTAssertEqual(error?.kind, .type, "\(String(describing: error))", file: file, line: line)
        XCTAssertEqual(error?.message, message, file: file, line: line)
    }

    func float(_ object: Obj) -> Double { rm_float_value(object) }

    func testRightArgumentsAreRead() throws {
        try runtime.withLock {
            let two = try loader.call("args.scale", [try Objects.int(3), rm_float(2.5)])
            XCTAssertEqual(rm_int_value(rm_tuple_get(two, 0)), 3)
            XCTAssertEqual(float(rm_tuple_get(two, 1)), 2.5)
            // The optional argument keeps its default; an int is a double.
            XCTAssertEqual(float(rm_tuple_get(try loader.call("args.scale", [try Objects.int(3)]), 1)), 0.5)
            XCTAssertEqual(float(rm_tuple_get(try loader.call("args.scale", [try Objects.int(3), try Objects.int(4)]), 1)), 4)

            let list = rm_list_new(0)!, any = rm_dict_new()!
            let every = try loader.call("args.every", [try Objects.int(-7), rm_float(1.25), rm_get_true(),
                                                       try Objects.string("héllo"), any, list])
            XCTAssertEqual(rm_int_value(rm_tuple_get(every, 0)), -7)
            XCTAssertEqual(float(rm_tuple_get(every, 1)), 1.25)
            XCTAssertEqual(rm_tuple_get(every, 2), rm_get_true())
            XCTAssertEqual(try Objects.stringValue(rm_tuple_get(every, 3)), "héllo")
            XCTAssertEqual(rm_tuple_get(every, 4), any)
            XCTAssertEqual(rm_tuple_get(every, 5), list)

            // O! with a class takes its instances and its subclasses'.
            let point = rm_instance_alloc(try loader.resolve("args.Point"))!
            XCTAssertEqual(rm_setattr(point, "x", try Objects.int(9)), 0)
            XCTAssertEqual(try int(loader.call("args.only_points", [point])), 9)
            let point3 = rm_instance_alloc(try loader.resolve("args.Point3"))!
            XCTAssertEqual(try int(loader.call("args.only_points", [point3])), 0)
        }
    }

    func testWrongTypesAreTypeErrorsNamingTheArgument() throws {
        try runtime.withLock {
            let abc = try Objects.string("abc")
            assertTypeError("args.scale", [abc], "args.scale() argument 1 must be int, not str")
            assertTypeError("args.scale", [rm_float(1.5)], "args.scale() argument 1 must be int, not float")
            assertTypeError("args.scale", [rm_get_none()], "args.scale() argument 1 must be int, not None")
            assertTypeError("args.scale", [rm_get_true()], "args.scale() argument 1 must be int, not bool")
            assertTypeError("args.scale", [try Objects.int(1), abc], "args.scale() argument 2 must be float, not str")
            let good: [Obj] = [try Objects.int(1), rm_float(1), rm_get_false(), abc, abc, rm_list_new(0)!]
            for (i, expected) in ["int", "float", "bool", "str"].enumerated() {
                var args = good
                args[i] = rm_dict_new()!
                assertTypeError("args.every", args, "args.every() argument \(i + 1) must be \(expected), not dict")
            }
            var notList = good
            notList[5] = rm_tuple_new(0)!
            assertTypeError("args.every", notList, "args.every() argument 6 must be list, not tuple")
            assertTypeError("args.named", [abc], "renamed() argument 1 must be int, not str")
            assertTypeError("args.only_points", [abc], "args.only_points() argument 1 must be Point, not str")

            // A str with a NUL byte cannot be a C string.
            var withNul = good
            withNul[3] = rm_str_n("a\0b", 3)!
            let nul = failure("args.every", withNul)
            XCTAssertEqual(nul?.kind, .value)
            XCTAssertEqual(nul?.message, "args.every() argument 4 must be a str without NUL bytes")
        }
    }

    func testWrongCountsAreTypeErrorsNamingTheFunction() throws {
        try runtime.withLock {
            let one = try Objects.int(1)
            assertTypeError("args.scale", [], "args.scale() takes at least 1 argument (0 given)")
            assertTypeError("args.scale", [one, one, one], "args.scale() takes at most 2 arguments (3 given)")
            assertTypeError("args.every", [one], "args.every() takes exactly 6 arguments (1 given)")
            assertTypeError("args.named", [], "renamed() takes exactly 1 argument (0 given)")
            let bad = failure("args.bad_format", [])
            XCTAssertEqual(bad?.kind, .runtime)
            XCTAssertEqual(bad?.message, "rm_args_parse: bad format \"q\" at 'q'")
        }
    }

    /// A failed parse writes nothing: the defaults stay.
    func testFailureWritesNoVariable() throws {
        try runtime.withLock {
            var n: Int64 = 41
            var x: Double = 0.5
            var items: [Obj?] = [try Objects.int(3), try Objects.string("no")]
            let rc = withUnsafeMutablePointer(to: &n) { np in
                withUnsafeMutablePointer(to: &x) { xp in
                    withVaList([np, xp]) { rm_args_vparse(&items, 2, "i|d:f", $0) }
                }
            }
            XCTAssertEqual(rc, -1)
            XCTAssertEqual(String(cString: rm_error_message()), "f() argument 2 must be float, not str")
            rm_error_clear()
            XCTAssertEqual(n, 41, "the int before the bad argument was not written")
            XCTAssertEqual(x, 0.5)
            // From Swift, through rm_args_vparse: the checked path too.
            items[1] = rm_float(2)
            let ok = withUnsafeMutablePointer(to: &n) { np in
                withUnsafeMutablePointer(to: &x) { xp in
                    withVaList([np, xp]) { rm_args_vparse(&items, 2, "i|d:f", $0) }
                }
            }
            XCTAssertEqual(ok, 0)
            XCTAssertEqual(n, 3)
            XCTAssertEqual(x, 2)
        }
    }
}
