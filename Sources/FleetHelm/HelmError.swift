/// Why a chart could not be rendered, in helm's words where helm has them.
public struct HelmError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A `.tgz` that is not a gzip tar, or that leaves its directory.
        case badArchive
        /// `Chart.yaml` missing, unreadable or invalid (`chart.metadata.name is required`).
        case badChart
        /// A library chart asked to render, which helm refuses.
        case libraryChart
        /// A values file, `--set` expression or value that does not parse.
        case badValues
        /// Values that break a chart's `values.schema.json`.
        case schema
        /// A template that does not parse or fails while rendering (`required`, `fail`, a nil pointer).
        case template
        /// A rendered template that is not YAML.
        case badManifest
        /// A dependency named in Chart.yaml that is not in `charts/`.
        case missingDependency
        /// A chart that needs a newer or older Kubernetes than the one rendered for.
        case kubeVersion
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
