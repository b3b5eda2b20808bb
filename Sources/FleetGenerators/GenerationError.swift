import FleetTemplate

/// Generating Applications failed. Names the ApplicationSet, the field path of the generator or template
/// involved, and what to do. Nothing is generated for an ApplicationSet with an error.
public struct GenerationError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case invalidSpec
        case template
        case git
        case duplicateName
        case invalidApplication
        /// A bound was reached: Applications per ApplicationSet, or a template's `TemplateLimits`.
        case limit
        /// The run's deadline passed or its caller cancelled it (a preview whose client left, a stopping hub).
        case cancelled
    }

    public let code: Code
    public var appSet: String
    public let field: String
    public let message: String

    public init(_ code: Code, field: String, _ message: String, appSet: String = "") {
        self.code = code
        self.field = field
        self.message = message
        self.appSet = appSet
    }

    /// The generation error for a template error at `field`.
    public init(_ error: TemplateError, field: String) {
        switch error.code {
        case .limit: self.init(.limit, field: field, error.message)
        case .cancelled: self.init(.cancelled, field: field, error.message)
        default: self.init(.template, field: field, error.message)
        }
    }

    public var description: String {
        let prefix = appSet.isEmpty ? "" : "ApplicationSet \(appSet): "
        return field.isEmpty ? prefix + message : "\(prefix)\(field): \(message)"
    }
}
