/// Where in a user's file a value came from.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// The file, as the user named it (nil for values typed on the command line).
    public var file: String?
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    public init(file: String?, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        if let file { return "\(file):\(line):\(column)" }
        return "line \(line), column \(column)"
    }
}

/// One thing wrong with user input: which field, what is wrong, and where it was written.
///
/// The message never contains a credential: validators describe secrets by their field name only.
public struct FieldProblem: Sendable, Hashable, CustomStringConvertible {
    /// A field path such as `clusters[2].labels.env` or `--server`.
    public var field: String
    public var message: String
    public var location: SourceLocation?

    public init(field: String, message: String, location: SourceLocation? = nil) {
        self.field = field
        self.message = message
        self.location = location
    }

    public var description: String {
        let prefix = location.map { "\($0): " } ?? ""
        return field.isEmpty ? "\(prefix)\(message)" : "\(prefix)\(field): \(message)"
    }
}

/// Input was rejected. Carries every problem found, not just the first, so a user fixes a file in one go.
public struct InputError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [FieldProblem]

    public init(_ problems: [FieldProblem]) {
        self.problems = problems
    }

    public init(field: String, message: String, location: SourceLocation? = nil) {
        self.problems = [FieldProblem(field: field, message: message, location: location)]
    }

    public var description: String {
        if problems.count == 1 { return problems[0].description }
        return "\(problems.count) problems:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
