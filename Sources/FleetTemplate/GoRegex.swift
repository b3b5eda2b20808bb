/// Go's `regexp` (RE2 syntax, leftmost-first), as Sprig's `regex*` functions use it, matched by a Pike VM:
/// time linear in the input for any pattern, so a template cannot pin a core with a backtracking pattern such as
/// `^(a+)+$`. Works on Unicode scalars; results are the same strings Go returns.
///
/// Supported: literals and escapes (`\n`, `\t`, `\x41`, `\x{263a}`, `\Q…\E`), `.`, classes `[a-z]`, `[^…]`,
/// `[[:alpha:]]`, `\d \s \w` (ASCII, as in Go) and their negations, `\pL`/`\p{Lu}` general categories, anchors
/// `^ $ \A \z \b \B`, groups `( )`, `(?: )`, `(?P<name> )`, `(?<name> )`, flags `(?i) (?m) (?s) (?U)` and
/// `(?i:…)`, repetition `* + ? {n} {n,} {n,m}` (greedy or lazy), alternation. Like RE2: no backreferences
/// or lookaround, repetition counts up to 1000.
struct GoRegex: Sendable {
    let program: [Inst]
    /// Capture groups, group 0 (the whole match) included.
    let groups: Int
    let names: [String: Int]

    static let maxRepeat = 1000
    static let maxProgram = 100_000

    init(_ pattern: String) throws {
        var parser = RegexParser(Array(pattern.unicodeScalars), pattern: pattern)
        let node = try parser.parse()
        var compiler = RegexCompiler()
        compiler.emit(.save(0))
        try compiler.compile(node)
        compiler.emit(.save(1))
        compiler.emit(.match)
        program = compiler.program
        groups = parser.groupCount + 1
        names = parser.names
    }

    // MARK: Matching

    /// The leftmost-first match starting at or after `start`: capture slots (start, end per group; -1 unset).
    func search(_ text: [Unicode.Scalar], from start: Int) -> [Int]? {
        let n = text.count
        var current = ThreadList(size: program.count), next = ThreadList(size: program.count)
        var matched: [Int]?
        var pos = start
        var stack: [(Int, [Int])] = []
        while pos <= n {
            if matched == nil {
                // Unanchored search: a new thread starts at every position until something matches.
                add(&current, 0, Array(repeating: -1, count: groups * 2), pos, text, &stack)
            }
            if current.threads.isEmpty {
                // Nothing alive: done once something matched, else try the next start position.
                if matched != nil { break }
                current.clear()
                pos += 1
                continue
            }
            next.clear()
            for (pc, caps) in current.threads {
                switch program[pc] {
                case .match:
                    matched = caps
                    // Lower-priority threads lose to this match.
                    break
                case .char(let alternatives):
                    if pos < n, alternatives.contains(text[pos]) { add(&next, pc + 1, caps, pos + 1, text, &stack) }
                    continue
                case .cls(let set, let fold):
                    if pos < n, set.contains(text[pos], fold: fold) { add(&next, pc + 1, caps, pos + 1, text, &stack) }
                    continue
                case .any(let dotNL):
                    if pos < n, dotNL || text[pos] != "\n" { add(&next, pc + 1, caps, pos + 1, text, &stack) }
                    continue
                default:
                    continue
                }
                break
            }
            swap(&current, &next)
            pos += 1
        }
        return matched
    }

    /// Adds the thread at `pc` and every thread reachable from it without reading input, in priority order.
    private func add(_ list: inout ThreadList, _ pc: Int, _ caps: [Int], _ pos: Int, _ text: [Unicode.Scalar], _ stack: inout [(Int, [Int])]) {
        stack.removeAll(keepingCapacity: true)
        stack.append((pc, caps))
        while let (pc, caps) = stack.popLast() {
            if list.contains(pc) { continue }
            list.mark(pc)
            switch program[pc] {
            case .jmp(let target):
                stack.append((target, caps))
            case .split(let first, let second):
                // The stack is last in, first out: push the lower priority branch first.
                stack.append((second, caps))
                stack.append((first, caps))
            case .save(let slot):
                var c = caps
                if slot < c.count { c[slot] = pos }
                stack.append((pc + 1, c))
            case .assert(let kind):
                if Self.holds(kind, at: pos, in: text) { stack.append((pc + 1, caps)) }
            default:
                list.threads.append((pc, caps))
            }
        }
    }

    static func isWord(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F: return true
        default: return false
        }
    }

    static func holds(_ kind: Assertion, at pos: Int, in text: [Unicode.Scalar]) -> Bool {
        switch kind {
        case .beginText: return pos == 0
        case .endText: return pos == text.count
        case .beginLine: return pos == 0 || text[pos - 1] == "\n"
        case .endLine: return pos == text.count || text[pos] == "\n"
        case .wordBoundary, .notWordBoundary:
            let before = pos > 0 && isWord(text[pos - 1]), after = pos < text.count && isWord(text[pos])
            return (before != after) == (kind == .wordBoundary)
        }
    }

    // MARK: Go's regexp API over strings

    /// Every match (`FindAllStringSubmatchIndex` with Go's rules for empty matches), at most `limit` (< 0: all).
    func allMatches(_ text: [Unicode.Scalar], limit: Int = -1) -> [[Int]] {
        var result: [[Int]] = []
        var pos = 0, prevEnd = -1
        while pos <= text.count && (limit < 0 || result.count < limit) {
            guard let m = search(text, from: pos) else { break }
            var accept = true
            if m[1] == pos {
                // An empty match right after the previous match is not one.
                if m[0] == prevEnd { accept = false }
                pos += 1
            } else {
                pos = m[1]
            }
            prevEnd = m[1]
            if accept { result.append(m) }
        }
        return result
    }

    /// `ReplaceAllString` (`literal`: `ReplaceAllLiteralString`).
    func replaceAll(_ text: [Unicode.Scalar], with template: String, literal: Bool) -> String {
        var out = String.UnicodeScalarView()
        var lastEnd = 0, searchPos = 0
        let n = text.count
        while searchPos <= n {
            guard let m = search(text, from: searchPos) else { break }
            out.append(contentsOf: text[lastEnd..<m[0]])
            // No replacement for an empty match right after another match.
            if m[1] > lastEnd || m[0] == 0 {
                if literal { out.append(contentsOf: template.unicodeScalars) } else { expand(template, m, text, into: &out) }
            }
            lastEnd = m[1]
            searchPos = searchPos + 1 > m[1] ? searchPos + 1 : m[1]
        }
        out.append(contentsOf: text[lastEnd...])
        return String(out)
    }

    /// Go's `Expand`: `$1`, `${1}`, `$name`, `${name}`, `$$`; an unknown group is empty, a malformed `$` is kept.
    func expand(_ template: String, _ match: [Int], _ text: [Unicode.Scalar], into out: inout String.UnicodeScalarView) {
        let t = Array(template.unicodeScalars)
        var i = 0
        func isNameChar(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic || c.properties.numericType == .decimal }
        while i < t.count {
            let c = t[i]
            guard c == "$", i + 1 < t.count else { out.append(c); i += 1; continue }
            if t[i + 1] == "$" { out.append("$"); i += 2; continue }
            var name = ""
            var j = i + 1
            if t[j] == "{" {
                j += 1
                while j < t.count, t[j] != "}" { name.unicodeScalars.append(t[j]); j += 1 }
                guard j < t.count, !name.isEmpty, name.unicodeScalars.allSatisfy(isNameChar) else { out.append(c); i += 1; continue }
                j += 1
            } else {
                while j < t.count, isNameChar(t[j]) { name.unicodeScalars.append(t[j]); j += 1 }
                guard !name.isEmpty else { out.append(c); i += 1; continue }
            }
            let group = Int(name) ?? names[name]
            if let g = group, g >= 0, g < groups, match[2 * g] >= 0 {
                out.append(contentsOf: text[match[2 * g]..<match[2 * g + 1]])
            }
            i = j
        }
    }

    /// `Split(s, n)`.
    func split(_ text: [Unicode.Scalar], _ n: Int, patternIsEmpty: Bool) -> [String] {
        if n == 0 { return [] }
        if !patternIsEmpty && text.isEmpty { return [""] }
        let matches = allMatches(text, limit: n)
        var parts: [String] = []
        var begin = 0, end = 0
        for m in matches {
            if n > 0 && parts.count == n - 1 { break }
            end = m[0]
            if m[1] != 0 { parts.append(String(String.UnicodeScalarView(text[begin..<end]))) }
            begin = m[1]
        }
        if end != text.count { parts.append(String(String.UnicodeScalarView(text[begin...]))) }
        return parts
    }

    static func substring(_ text: [Unicode.Scalar], _ m: [Int]) -> String {
        String(String.UnicodeScalarView(text[m[0]..<m[1]]))
    }
}

// MARK: - Program

enum Assertion: Sendable, Equatable {
    case beginText, endText, beginLine, endLine, wordBoundary, notWordBoundary
}

enum Inst: Sendable {
    /// One of these scalars (a literal, with its case variants under `(?i)`).
    case char([Unicode.Scalar])
    case cls(CharSet, fold: Bool)
    case any(dotNL: Bool)
    case split(Int, Int)
    case jmp(Int)
    case save(Int)
    case assert(Assertion)
    case match
}

/// The threads of one step: program counters with their captures, and a sparse set of counters seen.
struct ThreadList {
    var threads: [(Int, [Int])] = []
    private var seen: [Int]
    private var generation = 1

    init(size: Int) { seen = Array(repeating: 0, count: size) }

    func contains(_ pc: Int) -> Bool { seen[pc] == generation }
    mutating func mark(_ pc: Int) { seen[pc] = generation }
    mutating func clear() {
        threads.removeAll(keepingCapacity: true)
        generation += 1
    }
}

/// A set of scalars: ranges and general categories, possibly negated.
struct CharSet: Sendable {
    var ranges: [ClosedRange<UInt32>] = []
    var categories: [Unicode.GeneralCategory] = []
    var negated = false

    func containsExactly(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        for r in ranges where r.contains(v) { return true }
        if !categories.isEmpty && categories.contains(c.properties.generalCategory) { return true }
        return false
    }

    func contains(_ c: Unicode.Scalar, fold: Bool) -> Bool {
        var hit = containsExactly(c)
        if !hit && fold {
            hit = caseVariants(c).contains { $0 != c && containsExactly($0) }
        }
        return hit != negated
    }
}

/// The scalar and its simple lower and upper case forms.
func caseVariants(_ c: Unicode.Scalar) -> [Unicode.Scalar] {
    var out = [c]
    for mapped in [c.properties.lowercaseMapping, c.properties.uppercaseMapping] {
        let scalars = Array(mapped.unicodeScalars)
        if scalars.count == 1, !out.contains(scalars[0]) { out.append(scalars[0]) }
    }
    return out
}

// MARK: - Parser

indirect enum RegexNode {
    case empty
    case literal(Unicode.Scalar, fold: Bool)
    case cls(CharSet, fold: Bool)
    case any(dotNL: Bool)
    case assert(Assertion)
    case group(RegexNode, capture: Int?)
    case concat([RegexNode])
    case alt([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?, greedy: Bool)
}

struct RegexFlags {
    var caseInsensitive = false
    var multiLine = false
    var dotNL = false
    var ungreedy = false
}

struct RegexParser {
    let s: [Unicode.Scalar]
    let pattern: String
    var i = 0
    var groupCount = 0
    var names: [String: Int] = [:]
    var depth = 0

    init(_ s: [Unicode.Scalar], pattern: String) {
        self.s = s
        self.pattern = pattern
    }

    func fail(_ what: String) -> TemplateError {
        TemplateError(.execution, "error parsing regexp: \(what): `\(pattern)`")
    }

    mutating func parse() throws -> RegexNode {
        var flags = RegexFlags()
        let node = try alternation(&flags)
        if i < s.count { throw fail("unexpected )") }
        return node
    }

    mutating func alternation(_ flags: inout RegexFlags) throws -> RegexNode {
        var branches = [try concatenation(&flags)]
        while i < s.count && s[i] == "|" {
            i += 1
            branches.append(try concatenation(&flags))
        }
        return branches.count == 1 ? branches[0] : .alt(branches)
    }

    mutating func concatenation(_ flags: inout RegexFlags) throws -> RegexNode {
        var items: [RegexNode] = []
        while i < s.count && s[i] != "|" && s[i] != ")" {
            guard let atom = try atom(&flags) else { continue }
            items.append(try repetition(atom, flags))
        }
        return items.isEmpty ? .empty : (items.count == 1 ? items[0] : .concat(items))
    }

    mutating func repetition(_ atom: RegexNode, _ flags: RegexFlags) throws -> RegexNode {
        var node = atom
        var repeated = false
        while i < s.count {
            var min = 0, max: Int? = nil
            switch s[i] {
            case "*": i += 1
            case "+": min = 1; i += 1
            case "?": max = 1; i += 1
            case "{":
                guard let (lo, hi, end) = braces(at: i) else { return node }
                if lo > GoRegex.maxRepeat || (hi ?? 0) > GoRegex.maxRepeat { throw fail("invalid repeat count") }
                if let hi, hi < lo { throw fail("invalid repeat count") }
                min = lo; max = hi; i = end
            default:
                return node
            }
            if repeated { throw fail("invalid nested repetition operator") }
            repeated = true
            var greedy = !flags.ungreedy
            if i < s.count && s[i] == "?" { greedy.toggle(); i += 1 }
            if case .empty = node { throw fail("missing argument to repetition operator") }
            node = .repetition(node, min: min, max: max, greedy: greedy)
        }
        return node
    }

    /// `{n}`, `{n,}`, `{n,m}` at `start`: the bounds and the index after `}`; nil when it is a literal `{`.
    func braces(at start: Int) -> (Int, Int?, Int)? {
        var j = start + 1
        func number() -> Int? {
            var digits = ""
            while j < s.count, let d = s[j].properties.numericType, d == .decimal, s[j].isASCII { digits.unicodeScalars.append(s[j]); j += 1 }
            return digits.isEmpty ? nil : (digits.count > 6 ? Int.max : Int(digits))
        }
        guard let lo = number() else { return nil }
        var hi: Int? = lo
        if j < s.count && s[j] == "," {
            j += 1
            hi = number()
        }
        guard j < s.count && s[j] == "}" else { return nil }
        return (lo, hi, j + 1)
    }

    mutating func atom(_ flags: inout RegexFlags) throws -> RegexNode? {
        let c = s[i]
        switch c {
        case "(":
            depth += 1
            if depth > 1000 { throw fail("expression nests too deeply") }
            defer { depth -= 1 }
            i += 1
            var capture: Int?
            var inner = flags
            if i < s.count && s[i] == "?" {
                i += 1
                if i < s.count && (s[i] == "P" || s[i] == "<") {
                    if s[i] == "P" { i += 1 }
                    guard i < s.count && s[i] == "<" else { throw fail("invalid named capture") }
                    i += 1
                    var name = ""
                    while i < s.count && s[i] != ">" { name.unicodeScalars.append(s[i]); i += 1 }
                    guard i < s.count, !name.isEmpty, name.unicodeScalars.allSatisfy({ $0 == "_" || $0.properties.isAlphabetic || $0.properties.numericType == .decimal }) else {
                        throw fail("invalid named capture")
                    }
                    if names[name] != nil { throw fail("duplicate capture group name") }
                    i += 1
                    groupCount += 1
                    capture = groupCount
                    names[name] = groupCount
                } else {
                    // Flags: (?flags) changes the rest of the group; (?flags:re) only re.
                    var on = true
                    var changed = flags
                    while i < s.count && s[i] != ")" && s[i] != ":" {
                        switch s[i] {
                        case "i": changed.caseInsensitive = on
                        case "m": changed.multiLine = on
                        case "s": changed.dotNL = on
                        case "U": changed.ungreedy = on
                        case "-": on = false
                        default: throw fail("invalid or unsupported Perl syntax")
                        }
                        i += 1
                    }
                    guard i < s.count else { throw fail("missing closing )") }
                    if s[i] == ")" {
                        i += 1
                        flags = changed
                        return nil
                    }
                    i += 1
                    inner = changed
                }
            } else {
                groupCount += 1
                capture = groupCount
            }
            let body = try alternation(&inner)
            guard i < s.count && s[i] == ")" else { throw fail("missing closing )") }
            i += 1
            return .group(body, capture: capture)
        case ")":
            throw fail("unexpected )")
        case "[":
            return .cls(try charClass(flags), fold: flags.caseInsensitive)
        case ".":
            i += 1
            return .any(dotNL: flags.dotNL)
        case "^":
            i += 1
            return .assert(flags.multiLine ? .beginLine : .beginText)
        case "$":
            i += 1
            return .assert(flags.multiLine ? .endLine : .endText)
        case "*", "+", "?":
            throw fail("missing argument to repetition operator")
        case "\\":
            return try escape(flags)
        default:
            i += 1
            return .literal(c, fold: flags.caseInsensitive)
        }
    }

    mutating func escape(_ flags: RegexFlags) throws -> RegexNode {
        i += 1
        guard i < s.count else { throw fail("trailing backslash at end of expression") }
        let c = s[i]
        i += 1
        switch c {
        case "A": return .assert(.beginText)
        case "z": return .assert(.endText)
        case "b": return .assert(.wordBoundary)
        case "B": return .assert(.notWordBoundary)
        case "Q":
            var items: [RegexNode] = []
            while i < s.count {
                if s[i] == "\\", i + 1 < s.count, s[i + 1] == "E" { i += 2; break }
                items.append(.literal(s[i], fold: flags.caseInsensitive))
                i += 1
            }
            return .concat(items)
        default:
            i -= 1
            if let set = try perlOrUnicodeClass() { return .cls(set, fold: flags.caseInsensitive) }
            return .literal(try escapedScalar(), fold: flags.caseInsensitive)
        }
    }

    /// `\d \D \s \S \w \W \pX \p{X} \PX`, at `i` (on the letter after the backslash); nil for anything else.
    mutating func perlOrUnicodeClass() throws -> CharSet? {
        let c = s[i]
        var set = CharSet()
        switch c {
        case "d", "D": set.ranges = [0x30...0x39]
        case "s", "S": set.ranges = [0x09...0x0A, 0x0C...0x0D, 0x20...0x20]
        case "w", "W": set.ranges = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
        case "p", "P":
            i += 1
            guard i < s.count else { throw fail("invalid character class range") }
            var name = ""
            if s[i] == "{" {
                i += 1
                while i < s.count && s[i] != "}" { name.unicodeScalars.append(s[i]); i += 1 }
                guard i < s.count else { throw fail("invalid character class range") }
            } else {
                name = String(s[i])
            }
            var negate = c == "P"
            if name.hasPrefix("^") { negate.toggle(); name.removeFirst() }
            guard let categories = Self.categories[name] else { throw fail("invalid character class range: \\p{\(name)}") }
            set.categories = categories
            set.negated = negate
            i += 1
            return set
        default:
            return nil
        }
        set.negated = c.properties.isUppercase
        i += 1
        return set
    }

    /// The scalar an escape stands for, at `i` (the character after the backslash).
    mutating func escapedScalar() throws -> Unicode.Scalar {
        let c = s[i]
        i += 1
        switch c {
        case "n": return "\n"
        case "t": return "\t"
        case "r": return "\r"
        case "f": return "\u{0C}"
        case "v": return "\u{0B}"
        case "a": return "\u{07}"
        case "x":
            var hex = ""
            if i < s.count && s[i] == "{" {
                i += 1
                while i < s.count && s[i] != "}" { hex.unicodeScalars.append(s[i]); i += 1 }
                i += 1
            } else {
                while i < s.count && hex.count < 2 { hex.unicodeScalars.append(s[i]); i += 1 }
            }
            guard let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else { throw fail("invalid escape sequence") }
            return scalar
        case "0"..."7":
            // Octal: \0, \012 (up to three digits).
            var digits = String(c)
            while i < s.count, digits.count < 3, ("0"..."7").contains(s[i]) { digits.unicodeScalars.append(s[i]); i += 1 }
            if c != "0" && digits.count == 1 { throw fail("invalid escape sequence: \\\(c)") }
            return Unicode.Scalar(UInt32(digits, radix: 8) ?? 0) ?? "\0"
        default:
            // Punctuation escapes itself; an escaped letter or digit that means nothing is an error, as in RE2.
            if c.isASCII && (c.properties.isAlphabetic || c.properties.numericType != nil) { throw fail("invalid escape sequence: \\\(c)") }
            return c
        }
    }

    mutating func charClass(_ flags: RegexFlags) throws -> CharSet {
        i += 1  // [
        var set = CharSet()
        if i < s.count && s[i] == "^" { set.negated = true; i += 1 }
        var first = true
        while i < s.count && (s[i] != "]" || first) {
            first = false
            if s[i] == "[", i + 1 < s.count, s[i + 1] == ":" {
                guard let end = (i + 2..<s.count).first(where: { s[$0] == ":" && $0 + 1 < s.count && s[$0 + 1] == "]" }) else { throw fail("missing closing ]") }
                var name = String(String.UnicodeScalarView(s[(i + 2)..<end]))
                let negate = name.hasPrefix("^")
                if negate { name.removeFirst() }
                guard let ranges = Self.posix[name] else { throw fail("invalid character class range: [:\(name):]") }
                if negate {
                    set.ranges += Self.complement(ranges)
                } else {
                    set.ranges += ranges
                }
                i = end + 2
                continue
            }
            if s[i] == "\\" {
                i += 1
                guard i < s.count else { throw fail("missing closing ]") }
                if let perl = try perlOrUnicodeClass() {
                    if perl.negated {
                        if !perl.categories.isEmpty { throw fail("negated \\P inside a class is not supported") }
                        set.ranges += Self.complement(perl.ranges)
                    } else {
                        set.ranges += perl.ranges
                        set.categories += perl.categories
                    }
                    continue
                }
                let lo = try escapedScalar()
                try rangeTail(lo, into: &set)
                continue
            }
            let lo = s[i]
            i += 1
            try rangeTail(lo, into: &set)
        }
        guard i < s.count else { throw fail("missing closing ]") }
        i += 1
        return set
    }

    /// After a class member `lo`: `-hi` makes a range.
    mutating func rangeTail(_ lo: Unicode.Scalar, into set: inout CharSet) throws {
        if i + 1 < s.count && s[i] == "-" && s[i + 1] != "]" {
            i += 1
            var hi = s[i]
            if hi == "\\" { i += 1; guard i < s.count else { throw fail("missing closing ]") }; hi = try escapedScalar() } else { i += 1 }
            guard lo.value <= hi.value else { throw fail("invalid character class range: \(lo)-\(hi)") }
            set.ranges.append(lo.value...hi.value)
        } else {
            set.ranges.append(lo.value...lo.value)
        }
    }

    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var out: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if r.lowerBound > next { out.append(next...(r.lowerBound - 1)) }
            next = max(next, r.upperBound &+ 1)
        }
        if next <= 0x10FFFF { out.append(next...0x10FFFF) }
        return out
    }

    static let posix: [String: [ClosedRange<UInt32>]] = [
        "alnum": [0x30...0x39, 0x41...0x5A, 0x61...0x7A], "alpha": [0x41...0x5A, 0x61...0x7A], "ascii": [0x00...0x7F],
        "blank": [0x09...0x09, 0x20...0x20], "cntrl": [0x00...0x1F, 0x7F...0x7F], "digit": [0x30...0x39],
        "graph": [0x21...0x7E], "lower": [0x61...0x7A], "print": [0x20...0x7E],
        "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E], "space": [0x09...0x0D, 0x20...0x20],
        "upper": [0x41...0x5A], "word": [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A], "xdigit": [0x30...0x39, 0x41...0x46, 0x61...0x66],
    ]

    static let categories: [String: [Unicode.GeneralCategory]] = [
        "L": [.uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter],
        "Lu": [.uppercaseLetter], "Ll": [.lowercaseLetter], "Lt": [.titlecaseLetter], "Lm": [.modifierLetter], "Lo": [.otherLetter],
        "N": [.decimalNumber, .letterNumber, .otherNumber], "Nd": [.decimalNumber], "Nl": [.letterNumber], "No": [.otherNumber],
        "P": [.connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation],
        "S": [.mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol],
        "Z": [.spaceSeparator, .lineSeparator, .paragraphSeparator], "Zs": [.spaceSeparator],
        "M": [.nonspacingMark, .spacingMark, .enclosingMark], "C": [.control, .format, .surrogate, .privateUse, .unassigned], "Cc": [.control],
    ]
}

// MARK: - Compiler

struct RegexCompiler {
    var program: [Inst] = []

    mutating func emit(_ inst: Inst) { program.append(inst) }

    mutating func compile(_ node: RegexNode) throws {
        if program.count > GoRegex.maxProgram {
            throw TemplateError(.limit, "error parsing regexp: expression too large")
        }
        switch node {
        case .empty:
            break
        case .literal(let c, let fold):
            emit(.char(fold ? caseVariants(c) : [c]))
        case .cls(let set, let fold):
            emit(.cls(set, fold: fold))
        case .any(let dotNL):
            emit(.any(dotNL: dotNL))
        case .assert(let kind):
            emit(.assert(kind))
        case .group(let inner, let capture):
            if let capture { emit(.save(2 * capture)) }
            try compile(inner)
            if let capture { emit(.save(2 * capture + 1)) }
        case .concat(let items):
            for item in items { try compile(item) }
        case .alt(let branches):
            // split L1, next; L1: branch; jmp end; next: split …
            var jumps: [Int] = []
            for (k, branch) in branches.enumerated() {
                if k < branches.count - 1 {
                    let split = program.count
                    emit(.split(split + 1, -1))
                    try compile(branch)
                    jumps.append(program.count)
                    emit(.jmp(-1))
                    program[split] = .split(split + 1, program.count)
                } else {
                    try compile(branch)
                }
            }
            for j in jumps { program[j] = .jmp(program.count) }
        case .repetition(let inner, let min, let max, let greedy):
            for _ in 0..<min { try compile(inner) }
            if let max {
                // Optional copies, nested: (x(x(x)?)?)?
                var splits: [Int] = []
                for _ in min..<max {
                    splits.append(program.count)
                    emit(.split(-1, -1))
                    try compile(inner)
                }
                for s in splits { program[s] = greedy ? .split(s + 1, program.count) : .split(program.count, s + 1) }
            } else {
                // x*: L: split body, end; body; jmp L
                let loop = program.count
                emit(.split(-1, -1))
                try compile(inner)
                emit(.jmp(loop))
                program[loop] = greedy ? .split(loop + 1, program.count) : .split(program.count, loop + 1)
            }
        }
    }
}
