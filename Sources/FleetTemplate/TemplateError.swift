/// A template failed to parse or to render. The message keeps Go's key phrases
/// ("map has no entry for key", "function \"x\" not defined") so users can search for them.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case parse
        case missingKey
        case execution
        /// A bound of `TemplateLimits` was reached (steps, output, value size, nesting).
        case limit
        /// The render's deadline passed or its caller cancelled it.
        case cancelled
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
