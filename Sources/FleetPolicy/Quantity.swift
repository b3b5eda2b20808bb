import Foundation

/// A Kubernetes resource quantity (`500m`, `2`, `1.5`, `512Mi`, `4G`, `1e3`), as a number of base units, for
/// comparing limits with a policy's maximum.
public struct Quantity: Sendable, Equatable, Comparable, CustomStringConvertible {
    public let value: Double
    public let text: String

    static let binary: [String: Double] = ["Ki": 1024, "Mi": pow(1024, 2), "Gi": pow(1024, 3), "Ti": pow(1024, 4), "Pi": pow(1024, 5), "Ei": pow(1024, 6)]
    static let decimal: [String: Double] = ["n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18]

    public init?(_ text: String) {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard !t.isEmpty else { return nil }
        var number = t, multiplier = 1.0
        if let suffix = Self.binary.keys.first(where: { t.hasSuffix($0) }) {
            number = String(t.dropLast(2))
            multiplier = Self.binary[suffix]!
        } else if let last = t.last, last.isLetter, let m = Self.decimal[String(last)] {
            number = String(t.dropLast())
            multiplier = m
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." || $0 == "e" || $0 == "E" || $0 == "+" || $0 == "-" }),
              let n = Double(number), n.isFinite else { return nil }
        value = n * multiplier
        self.text = text
    }

    public static func < (a: Quantity, b: Quantity) -> Bool { a.value < b.value }
    public static func == (a: Quantity, b: Quantity) -> Bool { a.value == b.value }
    public var description: String { text }
}
