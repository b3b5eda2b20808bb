import FleetModel
import FleetTemplate

/// `clusters`: one parameter set per registered cluster matching `selector`, sorted by name.
/// Params: `name`, `nameNormalized`, `server`, `project`, labels and annotations under `metadata`, `values`.
/// As in Argo CD, whose clusters are Secrets labelled `argocd.argoproj.io/secret-type: cluster`, every
/// cluster carries that label here: selectors on it match, and `.metadata.labels` exists. The local cluster
/// (`https://kubernetes.default.svc`) is the exception, as in Argo CD: it has only the labels it was given.
public struct ClusterGenerator: Generator {
    public static let name = "clusters"
    public init() {}

    public func generate(_ spec: JSONValue, field: String, depth: Int, context: GeneratorContext) throws -> [ParamSet] {
        let selector = try spec["selector"].map { try GeneratorRegistry.labelSelector($0, field: "\(field).selector", validateValues: true) } ?? .everything
        var sets: [ParamSet] = []
        for cluster in context.clusters {
            let labels = cluster.generatorLabels
            guard selector.matches(labels) else { continue }
            var params: Params = [
                "name": .string(cluster.name),
                "nameNormalized": .string(cluster.normalizedName),
                "server": .string(cluster.server),
                "project": .string(cluster.project ?? ""),
            ]
            if context.goTemplate {
                var meta: [(String, JSONValue)] = []
                if !cluster.annotations.isEmpty { meta.append(("annotations", .sortedObject(cluster.annotations))) }
                if !labels.isEmpty { meta.append(("labels", .sortedObject(labels))) }
                params["metadata"] = .object(meta)
            } else {
                for (k, v) in labels { params["metadata.labels.\(k)"] = .string(v) }
                for (k, v) in cluster.annotations { params["metadata.annotations.\(k)"] = .string(v) }
            }
            let values = try GeneratorRegistry.renderValues(spec, params: params, field: field, context: context)
            GeneratorRegistry.addValues(values, to: &params, goTemplate: context.goTemplate)
            sets.append(ParamSet(params: params, origin: .item(generator: "clusters", detail: "cluster \(cluster.name)")))
        }
        if spec["flatList"]?.boolValue == true {
            let all = JSONValue.array(sets.map { .object($0.params.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }) })
            return [ParamSet(params: ["clusters": all], origin: .item(generator: "clusters", detail: "flat list of \(sets.count)"))]
        }
        return sets
    }
}
