import ArgumentParser
import FleetCLIKit
import FleetHelm
import FleetManifests
import Foundation

/// `helm template`, natively: a chart directory or archive rendered with helm's flags, printed as helm prints it.
struct RenderHelmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helm",
        abstract: "Render a Helm chart as `helm template` does (no helm binary needed).",
        discussion: """
        Values come from the chart's values.yaml, then each --values file, then --set-json, --set, --set-string,
        --set-file and --set-literal, in helm's order. Errors (a schema violation, a failed `required`) are printed in helm's words and exit 1.

        Examples:
          flotilla render helm ./charts/api --values prod.yaml --set image.tag=1.4.2 --release-name api
          flotilla render helm api-1.4.2.tgz --kube-version 1.29.0 --api-versions monitoring.coreos.com/v1 --include-crds
        """
    )

    @Argument(help: "A chart directory or a .tgz chart archive.") var chart: String
    @Option(name: [.customShort("f"), .customLong("values")], help: ArgumentHelp("A values file (repeatable; later files win).", valueName: "file")) var values: [String] = []
    @Option(help: ArgumentHelp("Set values (repeatable): a.b=c,d[0]=e,f={x,y}.", valueName: "key=value")) var set: [String] = []
    @Option(name: .customLong("set-string"), help: ArgumentHelp("Set values as strings (repeatable).", valueName: "key=value")) var setString: [String] = []
    @Option(name: .customLong("set-json"), help: ArgumentHelp("Set JSON values (repeatable): a={\"b\":1},c=[1,2], or one JSON object.", valueName: "key=json")) var setJSON: [String] = []
    @Option(name: .customLong("set-literal"), help: ArgumentHelp("Set one value as a literal string, commas and all (repeatable).", valueName: "key=value")) var setLiteral: [String] = []
    @Option(name: .customLong("set-file"), help: ArgumentHelp("Set a value to a file's content (repeatable).", valueName: "key=path")) var setFile: [String] = []
    @Option(name: .customLong("release-name"), help: "The release name.") var releaseName = "release-name"
    @Option(name: .customLong("name-template"), help: "A template for the release name.") var nameTemplate: String?
    @Option(name: .shortAndLong, help: "The release namespace.") var namespace = "default"
    @Option(name: .customLong("kube-version"), help: ArgumentHelp("The Kubernetes version for .Capabilities (default: helm's, see --helm-version).", valueName: "version")) var kubeVersion: String?
    @Option(name: .customLong("version"), help: ArgumentHelp("helm's chart version constraint: for a chart from a repository; a chart given as a directory or archive is rendered as it is, as helm does (said on stderr).", valueName: "constraint")) var chartVersion: String?
    @Option(name: .customLong("helm-version"), help: ArgumentHelp("Whose defaults to follow: 4 (Kubernetes 1.36.0, as helm 4.2) or 3 (1.32.0, as helm 3.17, which Argo CD ships).", valueName: "3|4")) var helmVersion: Int = 4
    @Option(name: [.customShort("a"), .customLong("api-versions")], help: ArgumentHelp("Extra API versions for .Capabilities (repeatable, comma-separated).", valueName: "group/version")) var apiVersions: [String] = []
    @Flag(name: .customLong("include-crds"), help: "Print the charts' crds/ too, first.") var includeCRDs = false
    @Flag(name: .customLong("skip-tests"), help: "Leave out helm.sh/hook: test objects.") var skipTests = false
    @Option(name: [.customShort("s"), .customLong("show-only")], help: ArgumentHelp("Only templates matching this path glob (repeatable).", valueName: "path")) var showOnly: [String] = []

    @Option(help: ArgumentHelp("Stop a render that takes longer (e.g. 60s, 5m).", valueName: "duration")) var timeout: String = "60s"

    func run() throws {
        do {
            guard helmVersion == 3 || helmVersion == 4 else { throw CLIError("--helm-version \(helmVersion): expected 3 or 4") }
            let loaded = try HelmChartFiles.load(path: chart)
            if let chartVersion {
                // helm locates a local chart without looking at --version; said, not silently dropped.
                FileHandle.standardError.write(Data("--version \(chartVersion) is not applied: \(chart) is a local chart (version \(loaded.metadata.version)), rendered as it is\n".utf8))
            }
            let kube = kubeVersion ?? (helmVersion == 4 ? HelmRenderer.helm4DefaultKubeVersion : HelmRenderer.defaultKubeVersion)
            var options = HelmRenderOptions(releaseName: releaseName, namespace: namespace, kubeVersion: kube,
                                            apiVersions: apiVersions.flatMap { $0.split(separator: ",").map(String.init) },
                                            set: set, setString: setString, includeCRDs: includeCRDs, skipTests: skipTests,
                                            showOnly: showOnly, nameTemplate: nameTemplate)
            options.setJSON = setJSON
            options.setLiteral = setLiteral
            for file in values {
                guard let data = FileManager.default.contents(atPath: file) else { throw CLIError("open \(file): no such file or directory") }
                options.valueFiles.append((file, String(decoding: data, as: UTF8.self)))
            }
            for item in setFile {
                guard let eq = item.firstIndex(of: "=") else { throw CLIError("--set-file \(item): expected key=path") }
                let path = String(item[item.index(after: eq)...])
                guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("--set-file: open \(path): no such file or directory") }
                options.overrides.append((String(item[..<eq]), .string(String(decoding: data, as: UTF8.self))))
            }
            options.limits.deadline = .now + (try parseDuration(timeout, flag: "--timeout"))
            let release = try HelmRenderer.render(loaded, options: options)
            print(release.text, terminator: "")
        } catch let error as HelmError {
            throw CLIError(error.message)
        }
    }
}
