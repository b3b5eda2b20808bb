import FleetModel
import Foundation

/// Sprig's list functions. The `must` forms return the error the plain forms raise too (a template
/// cannot recover a panic either way).
enum SprigLists {
    static let family: [TemplateFunction] = pairs([
        ("first", [.any], nil, { a in try Sprig.needList(a[0], "find first").first ?? .missing }),
        ("last", [.any], nil, { a in try Sprig.needList(a[0], "find last").last ?? .missing }),
        ("rest", [.any], nil, { a in Sprig.list(Array(try Sprig.needList(a[0], "find rest").dropFirst())) }),
        ("initial", [.any], nil, { a in Sprig.list(Array(try Sprig.needList(a[0], "find initial").dropLast())) }),
        ("append", [.any, .any], nil, { a in Sprig.list(try Sprig.needList(a[0], "push") + [a[1]]) }),
        ("push", [.any, .any], nil, { a in Sprig.list(try Sprig.needList(a[0], "push") + [a[1]]) }),
        ("prepend", [.any, .any], nil, { a in Sprig.list([a[1]] + (try Sprig.needList(a[0], "prepend"))) }),
        ("reverse", [.any], nil, { a in Sprig.list(try Sprig.needList(a[0], "find reverse").reversed()) }),
        ("compact", [.any], nil, { a in Sprig.list(try Sprig.needList(a[0], "compact").filter { !$0.isEmpty }) }),
        ("uniq", [.any], nil, { a in
            var seen: [TemplateValue] = []
            for v in try Sprig.needList(a[0], "find uniq") where !seen.contains(where: { Sprig.deepEqual($0, v) }) { seen.append(v) }
            return Sprig.list(seen)
        }),
        ("without", [.any], .any, { a in
            let drop = a.dropFirst()
            return Sprig.list(try Sprig.needList(a[0], "find without").filter { v in !drop.contains { Sprig.deepEqual($0, v) } })
        }),
        ("has", [.any, .any], nil, { a in
            if a[1].isNil { return .bool(false) }
            return .bool(try Sprig.needList(a[1], "find has").contains { Sprig.deepEqual($0, a[0]) })
        }),
        ("slice", [.any], .any, { a in
            guard case .list(let l) = a[0] else {
                throw Sprig.fail("list should be type of slice or array but \(a[0].isNil ? "<nil>" : a[0].kindName)")
            }
            if l.items.isEmpty { return .missing }
            let start = a.count > 1 ? Sprig.int64(a[1]) : 0
            let end = a.count > 2 ? Sprig.int64(a[2]) : l.items.count
            guard start >= 0, start <= end, end <= l.items.count else {
                throw Sprig.fail("reflect: slice index out of range")
            }
            return .list(TemplateList(Array(l.items[start..<end]), element: l.element))
        }),
        ("chunk", [.int, .any], nil, { a in
            guard case .int(let size, _) = a[0] else { return Sprig.list([]) }
            let items = try Sprig.needList(a[1], "chunk")
            guard size > 0 else { throw Sprig.fail("chunk size must be positive") }
            return Sprig.list(stride(from: 0, to: items.count, by: size).map { Sprig.list(Array(items[$0..<min($0 + size, items.count)])) })
        }),
    ]) + [
        F("list", [], variadic: .any) { a, _ in Sprig.list(a) },
        F("tuple", [], variadic: .any) { a, _ in Sprig.list(a) },
        F("concat", [], variadic: .any) { a, _ in
            var out: [TemplateValue] = []
            for l in a {
                guard let items = Sprig.items(l) else { throw Sprig.fail("Cannot concat type \(l.isNil ? "<nil>" : l.kindName) as list") }
                out += items
            }
            return Sprig.list(out)
        },
        F("until", [.int]) { a, ctx in
            let n = SprigStrings.i(a[0])
            return try ints(untilStep(0, n, n < 0 ? -1 : 1, ctx))
        },
        F("untilStep", [.int, .int, .int]) { a, ctx in
            try ints(untilStep(SprigStrings.i(a[0]), SprigStrings.i(a[1]), SprigStrings.i(a[2]), ctx))
        },
        F("seq", [], variadic: .int) { a, ctx in
            let p = a.map(SprigStrings.i)
            var step = 1
            let numbers: [Int]
            switch p.count {
            case 1:
                if p[0] < 1 { step = -1 }
                numbers = try untilStep(1, p[0] + step, step, ctx)
            case 2:
                if p[1] < p[0] { step = -1 }
                numbers = try untilStep(p[0], p[1] + step, step, ctx)
            case 3:
                if p[2] < p[0] {
                    step = -1
                    if p[1] > 0 { return .string("") }
                }
                numbers = try untilStep(p[0], p[2] + step, p[1], ctx)
            default:
                return .string("")
            }
            return .string(numbers.map(String.init).joined(separator: " "))
        },
    ]

    /// Builds each function and its `must` twin.
    static func pairs(_ list: [(String, [ParamType], ParamType?, @Sendable ([TemplateValue]) throws -> TemplateValue)]) -> [TemplateFunction] {
        list.flatMap { name, params, variadic, body -> [TemplateFunction] in
            let must = "must" + name.prefix(1).uppercased() + name.dropFirst()
            return [F(name, params, variadic: variadic) { a, _ in try body(a) }, F(must, params, variadic: variadic) { a, _ in try body(a) }]
        }
    }

    static func ints(_ values: [Int]) -> TemplateValue { .list(TemplateList(values.map { .int($0) }, element: "int")) }

    /// Sprig's untilStep: counts from start towards stop (exclusive) by step; nothing when step points away.
    static func untilStep(_ start: Int, _ stop: Int, _ step: Int, _ ctx: FunctionContext) throws -> [Int] {
        if stop < start {
            guard step < 0 else { return [] }
            let count = (start - stop + (-step) - 1) / (-step)
            try ctx.budget.allow(count, building: "untilStep")
            return Array(stride(from: start, to: stop, by: step))
        }
        guard step > 0 else { return [] }
        let (span, overflow) = stop.subtractingReportingOverflow(start)
        try ctx.budget.allow(overflow ? Int.max : span / step, building: "untilStep")
        return Array(stride(from: start, to: stop, by: step))
    }
}
