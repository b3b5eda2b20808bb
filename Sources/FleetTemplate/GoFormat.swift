import FleetModel
import Foundation

/// Go's `fmt` for template values: `Sprint` (`%v`), and `Sprintf` with its verbs, flags, widths,
/// precisions, argument indexes and its `%!verb(type=value)` complaints.
enum GoFormat {
    // MARK: %v

    /// `fmt.Sprint(v)` of one value.
    static func value(_ v: TemplateValue) -> String {
        switch v {
        case .missing, .null: return "<nil>"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i, _): return String(i)
        case .uint(let u, _): return String(u)
        case .float(let d): return float(d)
        case .complex(let r, let i): return complex(r, i)
        case .string(let s): return s
        case .list(let l): return "[" + l.items.map(value).joined(separator: " ") + "]"
        case .map(let m): return "map[" + m.sortedKeys.map { "\($0):\(value(m.entries[$0]!))" }.joined(separator: " ") + "]"
        case .object(let o): return o.description
        }
    }

    /// `fmt.Sprint(a, b, …)`: a space between operands when neither is a string.
    static func sprint(_ args: [TemplateValue]) -> String {
        var out = ""
        for (i, a) in args.enumerated() {
            if i > 0, a.stringValue == nil, args[i - 1].stringValue == nil { out += " " }
            out += value(a)
        }
        return out
    }

    /// `strconv.FormatFloat(f, 'g', -1, 64)` as `%v` prints a float64: shortest digits, exponent form
    /// when the decimal exponent is below -4 or at least 6 (so `1e+06`, but `123456`).
    static func float(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d > 0 ? "+Inf" : "-Inf" }
        if d == 0 { return d.sign == .minus ? "-0" : "0" }
        let (digits, exp) = shortestDigits(d)
        if exp < -4 || exp >= 6 {
            let mantissa = digits.count > 1 ? "\(digits.first!).\(digits.dropFirst())" : digits
            return (d < 0 ? "-" : "") + mantissa + "e" + (exp < 0 ? "-" : "+") + (abs(exp) < 10 ? "0" : "") + String(abs(exp))
        }
        return (d < 0 ? "-" : "") + plain(digits, exp)
    }

    /// `%g` with no precision: the shortest digits, as `%v`.
    static func shortestG(_ d: Double, upper: Bool = false) -> String {
        let s = float(d)
        return upper ? s.uppercased() : s
    }

    /// The shortest decimal digits that round-trip `d` and the decimal exponent of the first digit.
    static func shortestDigits(_ d: Double) -> (String, Int) {
        let text = "\(abs(d))"
        var digits = "", exp = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            let mantissa = text[..<e]
            exp = Int(text[text.index(after: e)...]) ?? 0
            let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
            digits = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
            exp += parts[0].count - 1
        } else {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            let whole = String(parts[0]), frac = parts.count > 1 ? String(parts[1]) : ""
            if whole != "0" {
                digits = whole + frac
                exp = whole.count - 1
            } else {
                let zeros = frac.prefix { $0 == "0" }.count
                digits = String(frac.dropFirst(zeros))
                exp = -(zeros + 1)
            }
        }
        while digits.count > 1 && digits.hasSuffix("0") { digits.removeLast() }
        return (digits, exp)
    }

    /// Digits laid out without an exponent.
    static func plain(_ digits: String, _ exp: Int) -> String {
        if exp < 0 { return "0." + String(repeating: "0", count: -exp - 1) + digits }
        if digits.count <= exp + 1 { return digits + String(repeating: "0", count: exp + 1 - digits.count) }
        let cut = digits.index(digits.startIndex, offsetBy: exp + 1)
        return String(digits[..<cut]) + "." + String(digits[cut...])
    }

    static func complex(_ r: Double, _ i: Double) -> String {
        let imaginary = float(i)
        return "(" + float(r) + (imaginary.hasPrefix("-") || imaginary.hasPrefix("+") ? "" : "+") + imaginary + "i)"
    }

    // MARK: Sprintf

    struct Spec {
        var minus = false, plus = false, sharp = false, space = false, zero = false
        var width: Int?
        var precision: Int?
    }

    static func sprintf(_ format: String, _ args: [TemplateValue]) -> String {
        var out = ""
        let chars = Array(format.unicodeScalars)
        var i = 0
        var argIndex = 0
        var reordered = false
        var goodArgNum = true

        func number() -> Int? {
            var n = 0, any = false
            while i < chars.count, let d = chars[i].properties.numericType == .decimal ? Int(String(chars[i])) : nil {
                n = n > 10_000_000 ? n : n * 10 + d
                any = true
                i += 1
            }
            return any ? n : nil
        }
        func argNumber() {
            // [n] sets the next argument.
            guard i < chars.count, chars[i] == "[" else { return }
            reordered = true
            var j = i + 1
            var n = 0, ok = false
            while j < chars.count, chars[j] != "]" {
                guard let d = Int(String(chars[j])) else { ok = false; break }
                n = n * 10 + d
                ok = true
                j += 1
            }
            if j < chars.count, chars[j] == "]", ok, n >= 1, n <= args.count {
                argIndex = n - 1
                goodArgNum = true
                i = j + 1
            } else {
                goodArgNum = false
                i = j < chars.count ? j + 1 : j
            }
        }

        while i < chars.count {
            let c = chars[i]
            guard c == "%" else {
                out.unicodeScalars.append(c)
                i += 1
                continue
            }
            i += 1
            var spec = Spec()
            flags: while i < chars.count {
                switch chars[i] {
                case "-": spec.minus = true; spec.zero = false
                case "+": spec.plus = true
                case "#": spec.sharp = true
                case " ": spec.space = true
                case "0": spec.zero = !spec.minus
                default: break flags
                }
                i += 1
            }
            argNumber()
            if i < chars.count, chars[i] == "*" {
                i += 1
                if argIndex < args.count, case .int(let w, _) = args[argIndex] {
                    spec.width = w
                    if w < 0 { spec.minus = true; spec.zero = false; spec.width = -w }
                    argIndex += 1
                } else {
                    out += "%!(BADWIDTH)"
                    if argIndex < args.count { argIndex += 1 }
                }
                reordered = false
            } else if let w = number() {
                if w > 1_000_000 { out += "%!(BADWIDTH)" } else { spec.width = w }
            }
            if i < chars.count, chars[i] == "." {
                i += 1
                argNumber()
                if i < chars.count, chars[i] == "*" {
                    i += 1
                    if argIndex < args.count, case .int(let p, _) = args[argIndex] {
                        spec.precision = p < 0 ? nil : p
                        argIndex += 1
                    } else {
                        out += "%!(BADPREC)"
                        if argIndex < args.count { argIndex += 1 }
                    }
                } else {
                    let p = number() ?? 0
                    if p > 1_000_000 { out += "%!(BADPREC)" } else { spec.precision = p }
                }
            }
            argNumber()
            guard i < chars.count else {
                out += "%!(NOVERB)"
                break
            }
            let verb = chars[i]
            i += 1
            if verb == "%" {
                out += "%"
                continue
            }
            if !goodArgNum {
                out += "%!\(verb)(BADINDEX)"
                continue
            }
            guard argIndex < args.count else {
                out += "%!\(verb)(MISSING)"
                continue
            }
            let arg = args[argIndex]
            argIndex += 1
            out += formatted(arg, verb: verb, spec)
        }
        if !reordered, argIndex < args.count {
            out += "%!(EXTRA " + args[argIndex...].map { a -> String in
                a.isNil ? "<nil>" : "\(a.typeName)=\(value(a))"
            }.joined(separator: ", ") + ")"
        }
        return out
    }

    static func bad(_ verb: Unicode.Scalar, _ arg: TemplateValue) -> String {
        if arg.isNil { return "%!\(verb)(<nil>)" }
        return "%!\(verb)(\(arg.typeName)=\(value(arg)))"
    }

    static func formatted(_ arg: TemplateValue, verb: Unicode.Scalar, _ spec: Spec) -> String {
        if verb == "T" { return pad(arg.typeName, spec) }
        switch arg {
        case .missing, .null:
            return verb == "v" ? pad("<nil>", spec) : bad(verb, arg)
        case .bool(let b):
            return verb == "t" || verb == "v" ? pad(b ? "true" : "false", spec) : bad(verb, arg)
        case .int(let n, _):
            return integer(negative: n < 0, magnitude: n.magnitude, verb: verb, spec, arg)
        case .uint(let u, _):
            return integer(negative: false, magnitude: u, verb: verb, spec, arg)
        case .float(let d):
            return floating(d, verb: verb, spec) ?? bad(verb, arg)
        case .complex(let r, let im):
            guard let re = floating(r, verb: verb, Spec(plus: spec.plus, space: spec.space, precision: spec.precision)),
                  let imText = floating(im, verb: verb, Spec(plus: true, precision: spec.precision)) else { return bad(verb, arg) }
            return pad("(" + re + imText + "i)", spec)
        case .string(let s):
            switch verb {
            case "s", "v":
                var text = s
                if let p = spec.precision { text = String(String.UnicodeScalarView(s.unicodeScalars.prefix(p))) }
                return pad(text, spec)
            case "q":
                return pad(spec.sharp && !s.contains("`") ? "`" + s + "`" : quote(s), spec)
            case "x", "X":
                var bytes = Array(s.utf8)
                if let p = spec.precision { bytes = Array(bytes.prefix(p)) }
                let hexText = bytes.map { String(format: verb == "x" ? "%02x" : "%02X", $0) }
                let joined = spec.space ? hexText.map { (spec.sharp ? (verb == "x" ? "0x" : "0X") : "") + $0 }.joined(separator: " ")
                    : (spec.sharp && !bytes.isEmpty ? (verb == "x" ? "0x" : "0X") : "") + hexText.joined()
                return pad(joined, spec)
            default: return bad(verb, arg)
            }
        case .list(let l):
            if verb == "s" || verb == "v" || verb == "d" || verb == "x" || verb == "X" || verb == "q" || verb == "f" || verb == "g" || verb == "e" || verb == "t" || verb == "o" || verb == "c" {
                var inner = spec
                inner.width = nil
                return pad("[" + l.items.map { formatted($0, verb: verb, inner) }.joined(separator: " ") + "]", spec)
            }
            return bad(verb, arg)
        case .map(let m):
            var inner = spec
            inner.width = nil
            return pad("map[" + m.sortedKeys.map { formatted(.string($0), verb: verb, inner) + ":" + formatted(m.entries[$0]!, verb: verb, inner) }
                .joined(separator: " ") + "]", spec)
        case .object(let o):
            return verb == "v" || verb == "s" ? pad(o.description, spec) : bad(verb, arg)
        }
    }

    static func pad(_ text: String, _ spec: Spec, zeroAllowed: Bool = false) -> String {
        guard let w = spec.width else { return text }
        let n = text.unicodeScalars.count
        guard n < w else { return text }
        let fill = w - n
        if spec.minus { return text + String(repeating: " ", count: fill) }
        if zeroAllowed && spec.zero {
            var body = Substring(text)
            var sign = ""
            if let f = body.first, f == "-" || f == "+" || f == " " { sign = String(f); body = body.dropFirst() }
            return sign + String(repeating: "0", count: fill) + body
        }
        return String(repeating: " ", count: fill) + text
    }

    static func integer(negative: Bool, magnitude: UInt, verb: Unicode.Scalar, _ spec: Spec, _ arg: TemplateValue) -> String {
        var digits: String
        var prefix = ""
        switch verb {
        case "d", "v": digits = String(magnitude)
        case "b": digits = String(magnitude, radix: 2); if spec.sharp { prefix = "0b" }
        case "o": digits = String(magnitude, radix: 8); if spec.sharp { prefix = "0" }
        case "O": digits = String(magnitude, radix: 8); prefix = "0o"
        case "x": digits = String(magnitude, radix: 16); if spec.sharp { prefix = "0x" }
        case "X": digits = String(magnitude, radix: 16).uppercased(); if spec.sharp { prefix = "0X" }
        case "c":
            return pad(Unicode.Scalar(UInt32(truncatingIfNeeded: magnitude)).map { String(Character($0)) } ?? "\u{FFFD}", spec)
        case "q":
            let scalar = Unicode.Scalar(UInt32(truncatingIfNeeded: magnitude)) ?? "\u{FFFD}"
            return pad("'" + (scalar == "'" ? "\\'" : quote(String(Character(scalar))).dropFirst().dropLast()) + "'", spec)
        case "U":
            var hex = String(magnitude, radix: 16).uppercased()
            while hex.count < max(4, spec.precision ?? 0) { hex = "0" + hex }
            var text = "U+" + hex
            if spec.sharp, let s = Unicode.Scalar(UInt32(truncatingIfNeeded: magnitude)) { text += " '\(Character(s))'" }
            return pad(text, spec)
        case "e", "E", "f", "F", "g", "G":
            return bad(verb, arg)
        default:
            return bad(verb, arg)
        }
        if let p = spec.precision {
            if p == 0 && magnitude == 0 { digits = "" }
            while digits.count < p { digits = "0" + digits }
        }
        if verb == "o" && spec.sharp && digits.hasPrefix("0") { prefix = "" }
        var sign = ""
        if negative { sign = "-" } else if spec.plus { sign = "+" } else if spec.space { sign = " " }
        var body = prefix + digits
        if spec.zero, !spec.minus, spec.precision == nil, let w = spec.width {
            let have = sign.count + body.count
            if have < w { body = prefix + String(repeating: "0", count: w - have) + digits }
        }
        return pad(sign + body, spec)
    }

    static func floating(_ d: Double, verb: Unicode.Scalar, _ spec: Spec) -> String? {
        var text: String
        if d.isNaN || d.isInfinite {
            text = d.isNaN ? "NaN" : (d > 0 ? (spec.plus ? "+Inf" : "Inf") : "-Inf")
            if d.isNaN && spec.plus { text = "+NaN" }
            var s = spec
            s.zero = false
            return "efgEFGvb".unicodeScalars.contains(verb) ? pad(text, s) : nil
        }
        switch verb {
        case "v", "g", "G":
            if let p = spec.precision {
                text = String(format: "%.\(max(p, 1))\(verb == "G" ? "G" : "g")", d)
                text = text.replacingOccurrences(of: "inf", with: "Inf")
            } else {
                text = shortestG(d, upper: verb == "G")
            }
        case "f", "F": text = String(format: "%.\(spec.precision ?? 6)f", d)
        case "e", "E": text = String(format: "%.\(spec.precision ?? 6)\(verb)", d)
        default: return nil
        }
        if !text.hasPrefix("-") {
            if spec.plus { text = "+" + text } else if spec.space { text = " " + text }
        }
        return pad(text, spec, zeroAllowed: true)
    }

    /// Go's `strconv.Quote`.
    static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{07}": out += "\\a"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{0B}": out += "\\v"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += String(format: "\\x%02x", scalar.value)
                } else if scalar.properties.generalCategory == .format || scalar.properties.generalCategory == .unassigned {
                    out += scalar.value > 0xFFFF ? String(format: "\\U%08x", scalar.value) : String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
