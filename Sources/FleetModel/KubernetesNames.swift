/// Kubernetes naming rules (apimachinery `validation`), as pure functions returning reasons.
///
/// Each check returns `nil` when the value is valid, or a message saying what is wrong with it.
public enum KubernetesNames {
    public static let dns1123LabelMaxLength = 63
    public static let dns1123SubdomainMaxLength = 253
    public static let labelValueMaxLength = 63
    public static let annotationsMaxTotalBytes = 256 * 1024

    /// RFC 1123 label: lower-case alphanumerics and '-', starting and ending with an alphanumeric, at most 63.
    public static func dns1123LabelProblem(_ value: String) -> String? {
        if value.isEmpty { return "must not be empty" }
        if value.utf8.count > dns1123LabelMaxLength {
            return "must be no more than \(dns1123LabelMaxLength) characters (got \(value.utf8.count))"
        }
        let bytes = Array(value.utf8)
        for b in bytes where !(isLowerAlnum(b) || b == UInt8(ascii: "-")) {
            return "'\(value)' must consist of lower case alphanumeric characters or '-' (found '\(Character(Unicode.Scalar(b)))')"
        }
        if !isLowerAlnum(bytes.first!) || !isLowerAlnum(bytes.last!) {
            return "'\(value)' must start and end with a lower case alphanumeric character"
        }
        return nil
    }

    /// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
    public static func dns1123SubdomainProblem(_ value: String) -> String? {
        if value.isEmpty { return "must not be empty" }
        if value.utf8.count > dns1123SubdomainMaxLength {
            return "must be no more than \(dns1123SubdomainMaxLength) characters"
        }
        let bytes = Array(value.utf8)
        for b in bytes where !(isLowerAlnum(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".")) {
            return "'\(value)' must consist of lower case alphanumeric characters, '-' or '.'"
        }
        if !isLowerAlnum(bytes.first!) || !isLowerAlnum(bytes.last!) {
            return "'\(value)' must start and end with a lower case alphanumeric character"
        }
        // Each dot-separated part is a label of its own: `a..b` and `a.-b` are not names.
        for part in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            where part.isEmpty || !isLowerAlnum(part.first!) || !isLowerAlnum(part.last!) {
            return "'\(value)': each part between dots must start and end with a lower case alphanumeric character"
        }
        return nil
    }

    /// A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain, the name a qualified name.
    public static func qualifiedNameProblem(_ key: String) -> String? {
        if key.isEmpty { return "key must not be empty" }
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        let name: Substring
        switch parts.count {
        case 1:
            name = parts[0]
        case 2:
            if parts[0].isEmpty { return "key '\(key)': prefix part must not be empty" }
            if let problem = dns1123SubdomainProblem(String(parts[0])) {
                return "key '\(key)': prefix part \(problem)"
            }
            name = parts[1]
        default:
            return "key '\(key)': a qualified name must consist of an optional DNS subdomain prefix and '/' and a name"
        }
        if name.isEmpty { return "key '\(key)': name part must not be empty" }
        if name.utf8.count > 63 { return "key '\(key)': name part must be no more than 63 characters" }
        if !isLabelValueShape(name) {
            return "key '\(key)': name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        }
        return nil
    }

    /// A label value: empty, or up to 63 alphanumerics, '-', '_', '.', starting and ending with an alphanumeric.
    public static func labelValueProblem(_ value: String) -> String? {
        if value.isEmpty { return nil }
        if value.utf8.count > labelValueMaxLength {
            return "value '\(value)' must be no more than \(labelValueMaxLength) characters"
        }
        if !isLabelValueShape(Substring(value)) {
            return "value '\(value)' must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        }
        return nil
    }

    /// Problems with a whole label map, with field paths under `field`.
    public static func labelProblems(_ labels: [String: String], field: String) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        for key in labels.keys.sorted() {
            if let p = qualifiedNameProblem(key) {
                problems.append(FieldProblem(field: "\(field).\(key)", message: p))
            }
            if let p = labelValueProblem(labels[key]!) {
                problems.append(FieldProblem(field: "\(field).\(key)", message: p))
            }
        }
        return problems
    }

    /// Problems with an annotation map: keys are qualified names; values are free text, 256 KiB in total.
    public static func annotationProblems(_ annotations: [String: String], field: String) -> [FieldProblem] {
        var problems: [FieldProblem] = []
        var total = 0
        for key in annotations.keys.sorted() {
            if let p = qualifiedNameProblem(key) {
                problems.append(FieldProblem(field: "\(field).\(key)", message: p))
            }
            total += key.utf8.count + annotations[key]!.utf8.count
        }
        if total > annotationsMaxTotalBytes {
            problems.append(FieldProblem(field: field, message: "annotations must be no more than 256 KiB in total (got \(total) bytes)"))
        }
        return problems
    }

    private static func isLowerAlnum(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }

    private static func isAlnum(_ b: UInt8) -> Bool {
        isLowerAlnum(b) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
    }

    private static func isLabelValueShape(_ s: Substring) -> Bool {
        let bytes = Array(s.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    /// Argo CD's SanitizeName (its template function `normalize`, a cluster's `nameNormalized`): lower case,
    /// every character outside `[-a-z0-9.]` becomes `-` (no collapsing), at most 253 characters, leading and
    /// trailing `-` and `.` trimmed.
    public static func argoNormalized(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for c in s.lowercased().unicodeScalars {
            if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-" || c == "." { out.append(c) } else { out.append("-") }
        }
        var result = String(out)
        if result.unicodeScalars.count > 253 { result = String(String.UnicodeScalarView(result.unicodeScalars.prefix(253))) }
        return String(result.drop { $0 == "-" || $0 == "." }.reversed().drop { $0 == "-" || $0 == "." }.reversed())
    }
}
