/// Generating Applications failed. Names the ApplicationSet, the field path of the generator or template
/// involved, and what to do. Nothing is generated for an ApplicationSet with an error.
public struct GenerationError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Equatable {
        case invalidSpec
        case template
        case git
        case duplicateName
        case invalidApplication
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

    public var description: String {
        let prefix = appSet.isEmpty ? "" : "ApplicationSet \(appSet): "
        return field.isEmpty ? prefix + message : "\(prefix)\(field): \(message)"
    }
}
