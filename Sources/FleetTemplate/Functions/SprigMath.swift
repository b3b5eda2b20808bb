import FleetModel
import Foundation

/// Sprig's arithmetic: integer functions work on int64 (`add 1 2` is an int64), the `f` functions on
/// float64 computed in decimal (`mulf 1.2 2.4 10 4` is 115.2, not 115.19999999999999).
enum SprigMath {
    static func i(_ v: TemplateValue) -> Int { Sprig.int64(v) }

    static let family: [TemplateFunction] = [
        F("add1", [.any]) { a, _ in .int64(i(a[0]) &+ 1) },
        F("add", [], variadic: .any) { a, _ in .int64(a.reduce(0) { $0 &+ i($1) }) },
        F("sub", [.any, .any]) { a, _ in .int64(i(a[0]) &- i(a[1])) },
        F("mul", [.any], variadic: .any) { a, _ in .int64(a.dropFirst().reduce(i(a[0])) { $0 &* i($1) }) },
        F("div", [.any, .any]) { a, _ in
            guard i(a[1]) != 0 else { throw Sprig.fail("runtime error: integer divide by zero") }
            return .int64(i(a[0]) / i(a[1]))
        },
        F("mod", [.any, .any]) { a, _ in
            guard i(a[1]) != 0 else { throw Sprig.fail("runtime error: integer divide by zero") }
            return .int64(i(a[0]) % i(a[1]))
        },
        F("max", [.any], variadic: .any) { a, _ in .int64(a.map(i).max()!) },
        F("biggest", [.any], variadic: .any) { a, _ in .int64(a.map(i).max()!) },
        F("min", [.any], variadic: .any) { a, _ in .int64(a.map(i).min()!) },
        F("maxf", [.any], variadic: .any) { a, _ in .float(a.map(Sprig.float64).max()!) },
        F("minf", [.any], variadic: .any) { a, _ in .float(a.map(Sprig.float64).min()!) },
        F("add1f", [.any]) { a, _ in .float(decimal(a[0]) + 1) },
        F("addf", [], variadic: .any) { a, _ in .float(a.map(decimal).reduce(Decimal(0), +)) },
        F("subf", [.any], variadic: .any) { a, _ in .float(a.dropFirst().map(decimal).reduce(decimal(a[0]), -)) },
        F("mulf", [.any], variadic: .any) { a, _ in .float(a.dropFirst().map(decimal).reduce(decimal(a[0]), *)) },
        F("divf", [.any], variadic: .any) { a, _ in
            var result = decimal(a[0])
            for d in a.dropFirst().map(decimal) {
                guard d != 0 else { throw Sprig.fail("decimal division by 0") }
                result /= d
            }
            return .float(result)
        },
        F("ceil", [.any]) { a, _ in .float(Sprig.float64(a[0]).rounded(.up)) },
        F("floor", [.any]) { a, _ in .float(Sprig.float64(a[0]).rounded(.down)) },
        F("round", [.any, .int], variadic: .float64) { a, _ in
            let roundOn: Double = a.count > 2 ? (a[2].floatValue ?? 0.5) : 0.5
            let pow = Foundation.pow(10, Double(SprigStrings.i(a[1])))
            let digit = pow * Sprig.float64(a[0])
            let fraction = digit - digit.rounded(.towardZero)
            return .float((fraction >= roundOn ? digit.rounded(.up) : digit.rounded(.down)) / pow)
        },
        F("randInt", [.int, .int]) { a, _ in
            let lo = SprigStrings.i(a[0]), hi = SprigStrings.i(a[1])
            guard hi > lo else { throw Sprig.fail("invalid argument to Intn") }
            return .int(Int.random(in: lo..<hi))
        },
    ]

    /// A float as decimal, from its shortest round-trip text (as shopspring/decimal's NewFromFloat).
    static func decimal(_ v: TemplateValue) -> Decimal {
        let d = Sprig.float64(v)
        return Decimal(string: "\(d)") ?? Decimal(d)
    }
}

extension TemplateValue {
    static func float(_ d: Decimal) -> TemplateValue { .float(NSDecimalNumber(decimal: d).doubleValue) }

    var floatValue: Double? { if case .float(let d) = self { return d } else { return nil } }
}
