import CRemap
import Foundation
import Reload
import XCTest

/// The choices where field rules meet: a rename applies once (while the old
/// class has the old name and not the new one) and wins over a new field
/// that reuses the old name; a new field's default (or initializer) shadows
/// an attribute of its name, whatever the instance's room.
final class ReloadLayoutRulesTests: LayoutTestCase {

    /// Guards: `bee` renamed from `b` next to a new field `b` keeps the old
    /// value in `bee` and gives `b` its default, and reloading the same
    /// version again changes nothing (the rename does not apply twice).
    func testRenameWinsOverANewFieldReusingTheOldName() throws {
        try runtime.withLock {
            let (pairs, _) = try loadBase()
            for generation in [2, 3] {
                try build(generation, "RENAME_REUSE")
                _ = try reload()
                for (i, p) in instances(pairs).enumerated() {
                    XCTAssertEqual(try ints(p, "a", "b", "bee"), [i, 5, 10_000 + i], "gen \(generation) Pair \(i)")
                }
            }
            try runtime.checkHeap()
        }
    }

    /// Guards: an attribute set before its name became a field is shadowed
    /// by the new field's default, for a new field in front (no room) and
    /// for one at the end that the instance need not store.
    func testANewFieldShadowsAnAttributeOfItsName() throws {
        try runtime.withLock {
            let (_, triples) = try loadBase()
            let first = instances(triples)[0], second = instances(triples)[1]
            try check(rm_setattr(first, "n", try Objects.int(777)))
            try build(2, "ADD")
            let report = try reload()
            XCTAssertGreaterThan(try line(report, "layout.Triple").moved, 0)
            XCTAssertEqual(try ints(first, "n", "m", "a"), [42, 43, 0], "the default, not the attribute")
            XCTAssertEqual(try ints(second, "n", "m", "a"), [42, 43, 1])

            try build(3, "REMOVE")
            _ = try reload()
            try check(rm_setattr(second, "b", try Objects.int(555)))
            try build(4, "READD")
            _ = try reload()
            XCTAssertEqual(try ints(second, "a", "c", "b"), [1, 20_001, 99], "the default, not the attribute")
            XCTAssertEqual(try ints(instances(triples)[2], "b"), [99], "no attribute: the default")
            try runtime.checkHeap()
        }
    }
}
