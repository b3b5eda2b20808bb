import FleetModel
import Foundation

/// Go's `fmt.Sprintf` for the verbs templates use: %s %v %d %q %f %e %g %t %x %X %o %c %%,
/// with flags `-`, `0`, `+`, width and precision.
enum Printf {
    static func format(_ format: String, _ args: [JSONValue]) -> String {
        var out = ""
        var chars = Array(format)[...]
        var argIndex = 0
        while let c = chars.first {
            chars = chars.dropFirst()
            guard c == "%" else { out.append(c); continue }
            var flags = ""
            while let f = chars.first, "-+0 #".contains(f) { flags.append(f); chars = chars.dropFirst() }
            var width = ""
            while let d = chars.first, d.isNumber { width.append(d); chars = chars.dropFirst() }
            var precision: Int?
            if chars.first == "." {
                chars = chars.dropFirst()
                var p = ""
                while let d = chars.first, d.isNumber { p.append(d); chars = chars.dropFirst() }
                precision = p.count > 7 ? Int.max : (Int(p) ?? 0)
            }
            // fmt refuses widths and precisions beyond 10⁶.
            if width.count > 7 || (Int(width) ?? 0) > 1_000_000 { out += "%!(BADWIDTH)"; width = "" }
            if let p = precision, p > 1_000_000 { out += "%!(BADPREC)"; precision = nil }
            guard let verb = chars.first else { out += "%!(NOVERB)"; break }
            chars = chars.dropFirst()
            if verb == "%" { out.append("%"); continue }
            guard argIndex < args.count else { out += "%!\(verb)(MISSING)"; continue }
            let arg = args[argIndex]
            argIndex += 1
            var text: String
            switch verb {
            case "s", "v": text = GoValue.format(arg)
            case "q": text = "\"" + GoValue.format(arg).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            case "d":
                if case .int(let i) = arg { text = String(i) } else { text = "%!d(\(GoValue.kindName(arg))=\(GoValue.format(arg)))" }
            case "t": text = GoValue.format(arg)
            case "f", "F": text = String(format: "%.\(precision ?? 6)f", TemplateFunctions.double(arg))
            case "e": text = String(format: "%.\(precision ?? 6)e", TemplateFunctions.double(arg))
            case "g": text = GoValue.formatFloat(TemplateFunctions.double(arg))
            case "x", "X":
                if case .string(let s) = arg { text = s.utf8.map { String(format: "%02x", $0) }.joined() } else { text = String(TemplateFunctions.int(arg), radix: 16) }
                if verb == "X" { text = text.uppercased() }
            case "o": text = String(TemplateFunctions.int(arg), radix: 8)
            case "c": text = Unicode.Scalar(UInt32(TemplateFunctions.int(arg))).map { String(Character($0)) } ?? ""
            default: text = "%!\(verb)(\(GoValue.format(arg)))"
            }
            if flags.contains("+"), "dfeg".contains(verb), !text.hasPrefix("-") { text = "+" + text }
            if let w = Int(width), text.count < w {
                let pad = w - text.count
                if flags.contains("-") { text += String(repeating: " ", count: pad) } else if flags.contains("0"), "dfeg".contains(verb) {
                    let negative = text.hasPrefix("-") || text.hasPrefix("+")
                    let sign = negative ? String(text.removeFirst()) : ""
                    text = sign + String(repeating: "0", count: pad) + text
                } else { text = String(repeating: " ", count: pad) + text }
            }
            out += text
        }
        if argIndex < args.count {
            out += "%!(EXTRA " + args[argIndex...].map { "\(GoValue.kindName($0))=\(GoValue.format($0))" }.joined(separator: ", ") + ")"
        }
        return out
    }
}
