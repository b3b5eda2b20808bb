import Foundation
import FleetModel
import Testing

/// A version number past 64 bits is not a version (Go's semver refuses it), never a crash: the fuzzer's chart
/// (`Sources/FleetFuzz/Corpus/helm/crash-semver-overflow`) named a dependency version constraint
/// `0.199999999999999999999999999999999999.0`, which unwrapped a failed conversion.
@Test(arguments: ["0.199999999999999999999999999999999999.0", "1.2.99999999999999999999", "~1.18446744073709551616", "^18446744073709551616"])
func numbersPastSixtyFourBitsAreRefused(_ text: String) {
    #expect(throws: SemverError.self) { try SemverConstraints(text) }
    #expect(SemanticVersion(text.trimmingCharacters(in: CharacterSet(charactersIn: "~^"))) == nil)
}

@Test func theLargestNumbersStillRead() throws {
    #expect(SemanticVersion("18446744073709551615.0.1")?.major == .max)
    #expect(try SemverConstraints(">=1.18446744073709551615").isSatisfied(by: SemanticVersion("2.0.0")!))
}
