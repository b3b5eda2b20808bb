import FleetModel

/// Bounds on one template render, so a template (an ApplicationSet from any account, a preview) cannot take
/// the hub's memory or cores. Exceeding a bound fails the render with a `TemplateError` of code `.limit`
/// naming it; the caller's deadline or cancellation fails it with code `.cancelled`.
///
/// ```swift
/// var limits = TemplateLimits.default
/// limits.deadline = .now + .seconds(10)
/// limits.isCancelled = { !connection.isActive }
/// try template.render(data, limits: limits)
/// ```
public struct TemplateLimits: Sendable {
    /// Evaluation steps of one render: nodes, commands and function calls, plus the size of each value a
    /// function builds (one step per list item or map entry, one per 64 bytes of string).
    public var maxSteps: Int
    /// Bytes one render may write.
    public var maxOutputBytes: Int
    /// Bytes of one string, and items of one list, that a function may build (`repeat`, `until`, `seq`,
    /// `indent`, `printf` padding, …); checked before allocating.
    public var maxValueBytes: Int
    /// Nesting of blocks (`if`, `range`, `with`) and parentheses in a template, and of template calls at run
    /// time: `template`, Helm's `include` and `tpl` share one count (Helm stops at 1,000).
    public var maxDepth: Int
    /// Levels of lists and maps a value may hold, whether built by functions (`dict`, `list`, `set`, `merge`,
    /// `append`, …) or walked by one (`toJson`, `toYaml`, `deepCopy`, printing). Default 1,000.
    public var maxDataDepth: Int
    /// Renders stop with `.cancelled` once the clock passes this instant.
    public var deadline: ContinuousClock.Instant?
    /// Polled while rendering; true stops the render with `.cancelled` (the client went away, the hub stops).
    public var isCancelled: (@Sendable () -> Bool)?

    public init(maxSteps: Int = 10_000_000, maxOutputBytes: Int = 16 << 20, maxValueBytes: Int = 16 << 20, maxDepth: Int = 100,
                maxDataDepth: Int = 1_000, deadline: ContinuousClock.Instant? = nil, isCancelled: (@Sendable () -> Bool)? = nil) {
        self.maxSteps = maxSteps
        self.maxOutputBytes = maxOutputBytes
        self.maxValueBytes = maxValueBytes
        self.maxDepth = maxDepth
        self.maxDataDepth = maxDataDepth
        self.deadline = deadline
        self.isCancelled = isCancelled
    }

    public static let `default` = TemplateLimits()

    /// Throws `.cancelled` when the deadline passed or the caller cancelled. Cheap enough to call per item.
    public func checkpoint() throws {
        if let deadline, ContinuousClock.now >= deadline {
            throw TemplateError(.cancelled, "rendering stopped: the deadline passed")
        }
        if let isCancelled, isCancelled() {
            throw TemplateError(.cancelled, "rendering stopped: cancelled")
        }
    }
}

/// The running account of one render against its limits. Used by one thread at a time.
final class RenderBudget {
    let limits: TemplateLimits
    private(set) var steps = 0
    private var nextCheckpoint = 4096

    init(_ limits: TemplateLimits) { self.limits = limits }

    /// Charges `cost` steps; every few thousand steps, checks the deadline and cancellation.
    func charge(_ cost: Int = 1) throws {
        steps += cost
        if steps > limits.maxSteps {
            throw TemplateError(.limit, "template exceeded the limit of \(limits.maxSteps) evaluation steps (maxSteps)")
        }
        if steps >= nextCheckpoint {
            nextCheckpoint = steps + 4096
            try limits.checkpoint()
        }
    }

    /// Charges for a value a function returned, by its size; refuses one nested deeper than `maxDataDepth`
    /// or a string longer than `maxValueBytes`.
    func charge(value: TemplateValue) throws {
        if value.nestingDepth > limits.maxDataDepth {
            throw TemplateError(.limit, "a value nested deeper than \(limits.maxDataDepth) levels of lists and maps (maxDataDepth)")
        }
        switch value {
        case .string(let s):
            let bytes = s.utf8.count
            if bytes > limits.maxValueBytes {
                throw TemplateError(.limit, "a string of \(bytes) bytes, over the limit of \(limits.maxValueBytes) (maxValueBytes)")
            }
            try charge(1 + bytes / 64)
        case .list(let l): try charge(1 + l.items.count)
        case .map(let m): try charge(1 + m.entries.count)
        default: try charge(1)
        }
    }

    /// Refuses a string of `bytes` bytes (or a list of that many items) before it is built.
    func allow(_ bytes: Int, building what: String) throws {
        if bytes > limits.maxValueBytes || bytes < 0 {
            throw TemplateError(.limit, "\(what) would build \(bytes < 0 ? "more than \(Int.max)" : "\(bytes)") bytes or items, over the limit of \(limits.maxValueBytes) (maxValueBytes)")
        }
    }

    /// Walks `value` without recursion before a function walks it recursively (a serializer, a deep copy,
    /// printing): one step per list item or map entry visited, so a list that holds itself many times over
    /// costs what printing it would and hits `maxSteps` (and the deadline) instead of running for hours; a
    /// value deeper than `maxDataDepth` (or holding itself) is refused.
    func checkShape(_ value: TemplateValue) throws {
        guard value.nestingDepth > 0 else { return }
        var stack: [(TemplateValue, Int)] = [(value, 1)]
        while let (current, level) = stack.popLast() {
            if level > limits.maxDataDepth {
                throw TemplateError(.limit, "a value nested deeper than \(limits.maxDataDepth) levels of lists and maps, or holding itself (maxDataDepth)")
            }
            switch current {
            case .list(let l):
                try charge(1 + l.items.count)
                for item in l.items where item.nestingDepth > 0 { stack.append((item, level + 1)) }
            case .map(let m):
                let entries = m.entries
                try charge(1 + entries.count)
                for item in entries.values where item.nestingDepth > 0 { stack.append((item, level + 1)) }
            default:
                continue
            }
        }
    }

    func checkOutput(_ bytes: Int) throws {
        if bytes > limits.maxOutputBytes {
            throw TemplateError(.limit, "template output exceeded the limit of \(limits.maxOutputBytes) bytes (maxOutputBytes)")
        }
    }
}

extension RenderBudget {
    /// Functions that walk their arguments' lists and maps recursively (serializing, copying, comparing,
    /// printing): their arguments' shape is checked first (`checkShape`). Names without the `must` prefix.
    static let walkers: Set<String> = [
        "toJson", "toPrettyJson", "toRawJson", "toYaml", "toYamlPretty", "toToml", "deepCopy", "merge", "mergeOverwrite",
        "deepEqual", "eq", "ne", "print", "printf", "println", "cat", "toString", "toStrings", "quote", "squote", "fail",
        "has", "without", "uniq", "b64enc", "b32enc", "sha1sum", "sha256sum", "sha512sum", "adler32sum", "join", "sortAlpha",
        "html", "js", "urlquery",
    ]

    /// Matching is linear in text × pattern: charged before it runs, so one call cannot run for long.
    func chargeRegex(_ pattern: String, _ text: String) throws {
        let (work, overflow) = text.utf8.count.multipliedReportingOverflow(by: max(1, pattern.utf8.count))
        try charge(overflow ? Int.max / 2 : 1 + work / 16)
    }

    /// Size checks for the functions whose result is not bounded by the size of their arguments, run before
    /// the function allocates anything. Arithmetic saturates, so huge counts cannot overflow past the check.
    func precheck(_ functionName: String, _ args: [TemplateValue]) throws {
        func times(_ a: Int, _ b: Int) -> Int {
            let (r, o) = a.multipliedReportingOverflow(by: b)
            return o ? Int.max : r
        }
        func plus(_ a: Int, _ b: Int) -> Int {
            let (r, o) = a.addingReportingOverflow(b)
            return o ? Int.max : r
        }
        func bytes(_ v: TemplateValue) -> Int { Sprig.str(v).utf8.count }
        func int(_ v: TemplateValue) -> Int { Sprig.int64(v) }
        func str(_ v: TemplateValue) -> String { Sprig.str(v) }
        // The `must` forms of functions cost what the plain forms cost.
        let name = functionName.hasPrefix("must") ? functionName.dropFirst(4).prefix(1).lowercased() + functionName.dropFirst(5) : functionName
        if Self.walkers.contains(name) {
            for arg in args where arg.nestingDepth > 0 { try checkShape(arg) }
        }
        switch name {
        case "printf", "print", "println", "cat", "nospace":
            // The result is at most the arguments' text plus the format's; strings are counted before joining.
            var total = 0
            for arg in args {
                if case .string(let s) = arg { total = plus(total, s.utf8.count) }
            }
            try allow(total, building: name)
        case "repeat" where args.count == 2:
            try allow(times(max(0, int(args[0])), bytes(args[1])), building: "repeat")
        case "randAlphaNum", "randAlpha", "randNumeric", "randAscii", "randBytes":
            if let n = args.first { try allow(max(0, int(n)), building: name) }
        case "wrapWith" where args.count == 3:
            // At most one separator per byte of the text.
            let text = bytes(args[2])
            try allow(plus(text, times(text, bytes(args[1]))), building: "wrapWith")
        case "untilStep" where args.count == 3:
            let step = int(args[2])
            let (span, overflow) = int(args[1]).subtractingReportingOverflow(int(args[0]))
            if step != 0 { try allow(overflow ? Int.max : abs(span / step), building: "untilStep") }
        case "until" where args.count == 1:
            try allow(max(0, int(args[0])), building: "until")
        case "seq":
            let nums = args.map(int)
            let (start, end) = nums.count == 1 ? (1, nums[0]) : (nums.first ?? 1, nums.last ?? 0)
            let (span, overflow) = end.subtractingReportingOverflow(start)
            // Each number takes at least two bytes with its separator.
            try allow(overflow ? Int.max : times(max(0, span), 2), building: "seq")
        case "indent", "nindent" where args.count == 2:
            let width = max(0, int(args[0])), text = str(args[1])
            var lines = 1
            for byte in text.utf8 where byte == 0x0A { lines += 1 }
            try allow(plus(times(lines, width), text.utf8.count), building: name)
        case "replace" where args.count == 3:
            let old = str(args[0]), new = bytes(args[1]), text = str(args[2])
            let oldBytes = old.utf8.count, textBytes = text.utf8.count
            guard new > oldBytes else { return }
            // At most one replacement per byte of the text (an empty `old` matches between every character);
            // when that bound is too high, count the real matches.
            var matches = oldBytes == 0 ? textBytes + 1 : textBytes / oldBytes
            if plus(textBytes, times(matches, new - oldBytes)) > limits.maxValueBytes && oldBytes > 0 {
                matches = text.components(separatedBy: old).count - 1
            }
            try allow(plus(textBytes, times(matches, new - oldBytes)), building: "replace")
        case "join" where args.count == 2:
            let items = Sprig.strings(args[1])
            var total = times(max(0, items.count - 1), bytes(args[0]))
            for item in items { total = plus(total, item.utf8.count) }
            try allow(total, building: "join")
        case "regexReplaceAll", "regexReplaceAllLiteral":
            guard args.count == 3 else { return }
            let text = str(args[1]), replacement = str(args[2])
            try chargeRegex(str(args[0]), text)
            let textBytes = text.utf8.count
            // Each match writes the replacement, and each `$` in it may expand to a group as long as the text.
            let references = name == "regexReplaceAll" ? replacement.utf8.reduce(0) { $0 + ($1 == 0x24 ? 1 : 0) } : 0
            let perMatch = plus(replacement.utf8.count, times(references, textBytes))
            var matches = textBytes + 1
            if plus(textBytes, times(matches, perMatch)) > limits.maxValueBytes {
                matches = try GoRegex(str(args[0])).allMatches(Array(text.unicodeScalars)).count
            }
            try allow(plus(textBytes, times(matches, perMatch)), building: name)
        case "regexMatch", "regexFind", "regexFindAll", "regexSplit":
            guard args.count >= 2 else { return }
            try chargeRegex(str(args[0]), str(args[1]))
        default:
            return
        }
    }
}
