import CRemap
import Foundation
@testable import Reload
import XCTest

/// The JSON form of values with shared and cyclic parts: bounded time, and
/// a visible marker where a container repeats.
final class JSONValuesTests: HeapTestCase {

    func testSharedSubgraphsRenderInLinearTime() throws {
        try runtime.withLock {
            var node = try check(rm_list_new(0))
            let root = try Ref(node)
            for _ in 0..<30 {
                let parent = try check(rm_list_new(0))
                try check(rm_list_append(parent, node))
                try check(rm_list_append(parent, node))
                node = parent
                root.object = node
            }
            // Linear in distinct objects, not in paths (2^depth): checked by
            // the output's size, not by a clock a sanitizer run would break.
            let json = JSONValue(rendering: root.object)
            let data = try ControlProtocol.encoder.encode(CallReply(result: json))
            let text = String(decoding: data, as: UTF8.self)
            XCTAssertTrue(text.contains("$ref"), text)
            XCTAssertLessThan(data.count, 10_000)
        }
    }

    func testCyclicListRendersWithAMarker() throws {
        try runtime.withLock {
            let list = try check(rm_list_new(0))
            let root = try Ref(list)
            try check(rm_list_append(list, try Objects.int(1)))
            try check(rm_list_append(list, list))
            let json = JSONValue(rendering: root.object)
            XCTAssertEqual(json, .array([.int(1), .object(["$cycle": .string("#")])]))
            XCTAssertEqual(json.jsonText, ##"[1,{"$cycle":"#"}]"##)
        }
    }

    func testDistinctEqualValuesAreNotMarked() throws {
        try runtime.withLock {
            let a = try check(rm_list_new(0)), b = try check(rm_list_new(0))
            let outer = try check(rm_list_new(0))
            let root = try Ref(outer)
            try check(rm_list_append(outer, a))
            try check(rm_list_append(outer, b))
            try check(rm_list_append(outer, a))
            XCTAssertEqual(JSONValue(rendering: root.object), .array([.array([]), .array([]), .object(["$ref": .string("#/0")])]))
        }
    }
}
