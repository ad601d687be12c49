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
            let start = Date()
            let json = JSONValues.json(from: root.object)
            let elapsed = Date().timeIntervalSince(start)
            XCTAssertLessThan(elapsed, 0.5)
            let data = try JSONSerialization.data(withJSONObject: ["result": json])
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
            let json = JSONValues.json(from: root.object)
            let items = try XCTUnwrap(json as? [Any])
            XCTAssertEqual(items.count, 2)
            XCTAssertEqual(items[0] as? Int64, 1)
            let marker = try XCTUnwrap(items[1] as? [String: Any], "\(items[1])")
            XCTAssertEqual(marker["$cycle"] as? String, "#")
            _ = try JSONSerialization.data(withJSONObject: ["result": json])
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
            let items = try XCTUnwrap(JSONValues.json(from: root.object) as? [Any])
            XCTAssertEqual((items[0] as? [Any])?.count, 0)
            XCTAssertEqual((items[1] as? [Any])?.count, 0)
            XCTAssertEqual((items[2] as? [String: Any])?["$ref"] as? String, "#/0")
        }
    }
}
