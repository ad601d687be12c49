import CRemap
import Reload
import XCTest

/// rm_str_format is variadic, so Swift cannot call it (issue 20, item 10:
/// "rm_str_format is unavailable from Swift"). rm_str_vformat takes a
/// va_list, which Swift makes with withVaList; a Swift module author formats
/// a str the way a C author does, short texts and long ones alike.
final class StrFormatTests: HeapTestCase {
    func testSwiftFormatsThroughVaList() throws {
        try runtime.withLock {
            let short = withVaList([Int64(3), 2.5]) { rm_str_vformat("%lld items, %.1f each", $0) }
            XCTAssertEqual(try Objects.stringValue(try XCTUnwrap(short)), "3 items, 2.5 each")
            // Past the 256-byte stack buffer: formatted a second time from a
            // copy of the va_list, not from the consumed one.
            let word = String(repeating: "x", count: 300)
            let long = word.withCString { w in withVaList([w, Int32(7)]) { rm_str_vformat("%s/%d", $0) } }
            XCTAssertEqual(try Objects.stringValue(try XCTUnwrap(long)), word + "/7")
            XCTAssertEqual(rm_str_len(long), 302)
        }
    }
}
