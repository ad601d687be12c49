import Foundation
@testable import Reload
import XCTest

/// The protocol's names are spelled once (issue 24 item 3): each request
/// name in `RequestName`, each field in `ControlRequest.Key`, each phase in
/// `ReloadReport.Phases.CodingKeys`; and one encoder, which leaves the keys
/// of a JSON value (data) as they are.
final class ControlProtocolTests: XCTestCase {
    func testEveryRequestRoundTripsByItsOneName() throws {
        let requests: [ControlRequest] = [
            .ping, .status, .modules, .reload(modules: ["a"], options: ReloadOptions(cascade: true, onRemoved: .refuse)),
            .call(function: "m.f", args: [.int(1)]), .get(name: "m.x"), .stats, .collect,
        ]
        XCTAssertEqual(Set(requests.map(\.kind)), Set(RequestName.allCases), "a request for every name")
        for request in requests {
            let line = try ControlProtocol.encoder.encode(request)
            XCTAssertEqual(try ControlRequest(line: [UInt8](line)), request, String(decoding: line, as: UTF8.self))
            XCTAssertTrue(String(decoding: line, as: UTF8.self).contains("\"request\":\"\(request.kind.rawValue)\""))
        }
    }

    func testOneEncoderKeepsTheKeysOfData() throws {
        let value = JSONValue.object(["camelCase": .int(1), "snake_case": .int(2)])
        let text = String(decoding: try ControlProtocol.encoder.encode(value), as: UTF8.self)
        XCTAssertEqual(text, #"{"camelCase":1,"snake_case":2}"#)
    }

    func testPhasesAreNamedOnceInRunOrder() throws {
        var phases = ReloadReport.Phases()
        phases.load = 1
        phases.commit = 2
        XCTAssertEqual(phases.named.map(\.name), ["close_libraries", "load", "match", "module_hooks", "remap",
                                                  "rehash", "instances", "publish", "commit"])
        XCTAssertEqual(phases.named.first { $0.name == "load" }?.milliseconds, 1)
        XCTAssertEqual(phases.named.last?.milliseconds, 2)
        let encoded = try JSONSerialization.jsonObject(with: ControlProtocol.encoder.encode(phases)) as? [String: Double]
        XCTAssertEqual(Set(encoded?.keys ?? [:].keys), Set(phases.named.map(\.name) + ["total"]))
    }
}
