import FleetAuth
import FleetConfig
import FleetDashboard
import FleetGenerators
import FleetHelm
import FleetKube
import FleetModel
import FleetPolicy
import FleetReconcile
import FleetServing
import FleetSim
import FleetTemplate
import Foundation

/// What one fuzz target does with an input. A target throws only what its code reports as bad input; a crash,
/// a sanitizer report, a hang past the per-input limits or memory past `-rss_limit_mb` is a finding.
struct FuzzTarget: Sendable {
    let name: String
    /// What the input is, for `flotilla-fuzz --list` and docs/security.md.
    let input: String
    let run: @Sendable ([UInt8]) -> Void
}

/// The hub's own limits for a render (`limits.*` defaults): the fuzzer finds only what gets past them.
let hubLimits: HubConfiguration.Limits = HubConfiguration().limits

func templateLimits() -> TemplateLimits {
    TemplateLimits(maxSteps: hubLimits.templateSteps, maxOutputBytes: hubLimits.templateOutputBytes, maxValueBytes: hubLimits.templateOutputBytes,
                   maxDataDepth: hubLimits.templateDataDepth, deadline: .now + .milliseconds(Int(hubLimits.renderTimeout * 1000)))
}

/// The input as text (invalid UTF-8 repaired, as every reader of a file does).
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// The input cut at its first NUL byte: two parts (the second empty when there is none).
func split(_ bytes: [UInt8]) -> (String, String) {
    guard let nul = bytes.firstIndex(of: 0) else { return (text(bytes), "") }
    return (text(Array(bytes[..<nul])), text(Array(bytes[(nul + 1)...])))
}

/// Every target, by name.
let targets: [FuzzTarget] = [
    FuzzTarget(name: "yaml", input: "a YAML file: documents read as ApplicationSets, AppProjects, policies, promotions, clusters files and Argo CD cluster Secrets") { bytes in
        let source = text(bytes)
        _ = try? ClustersFile.parse(source, file: "fuzz.yaml")
        _ = try? ApplicationSet.parse(source, file: "fuzz.yaml")
        _ = try? Policy.parse(source, file: "fuzz.yaml")
        guard let documents = try? YAMLValue.documents(source, file: "fuzz.yaml") else { return }
        for document in documents {
            switch document["kind"]?.stringValue {
            case "AppProject": _ = try? Project(object: document, file: "fuzz.yaml")
            case "Promotion": _ = try? Promotion.parse(document, file: "fuzz.yaml")
            default: _ = ApplicationStatus(document)
            }
            _ = try? RollingSync.parse(document.value(at: ["spec", "strategy"]))
            _ = YAMLOutput.render(document)
        }
    },
    FuzzTarget(name: "json", input: "a JSON document: parsed, printed and parsed again (the two must be equal), applied as a merge patch, decoded as a status") { bytes in
        guard let value = try? JSONParser.parse(text(bytes)) else { return }
        let printed = value.serialized(pretty: false)
        guard let again = try? JSONParser.parse(printed) else { preconditionFailure("JSON printed by JSONValue does not parse: \(printed.prefix(200))") }
        precondition(sameJSON(again, value), "JSON printed by JSONValue does not parse back to the same value: \(printed.prefix(200))")
        // As a merge patch (RFC 7386) over itself and over an object: the result is a value that prints and parses.
        for patched in [value.merging(patch: value), JSONValue.object([("a", .int(1)), ("b", value)]).merging(patch: value)] {
            precondition((try? JSONParser.parse(patched.serialized(pretty: false))) != nil, "a merge patch made JSON that does not parse")
        }
        _ = ApplicationStatus(value)
        _ = try? JSONCoding.decode(SyncProgress.self, from: value)
    },
    FuzzTarget(name: "template", input: "a Go template, NUL, its data as YAML or JSON: rendered with Argo CD's and Helm's function tables") { bytes in
        let (source, data) = split(bytes)
        let dot = (try? YAMLValue.parse(data, file: "data")) ?? .object([])
        for functions in [FunctionTable.argoCD, .helm] {
            guard let template = try? GoTemplate(source, name: "fuzz", options: [.missingKeyError], functions: functions) else { continue }
            _ = try? template.render(dot, limits: templateLimits())
        }
    },
    FuzzTarget(name: "helm", input: "a chart as a directory image: path, 0x01, content, 0x01, … (Chart.yaml, values.yaml, templates/…, values.schema.json)") { bytes in
        let parts = bytes.split(separator: 1, omittingEmptySubsequences: false)
        var files: [String: [UInt8]] = [:]
        var index = 0
        while index + 1 < parts.count {
            files[text(Array(parts[index]))] = Array(parts[index + 1])
            index += 2
        }
        guard let chart = try? ChartLoader.load(files: files, origin: "fuzz") else { return }
        let options = HelmRenderOptions(set: files["--set"].map { text($0).split(separator: "\n").map(String.init) } ?? [],
                                        limits: templateLimits())
        _ = try? LargeStack.run { try HelmRenderer.render(chart, options: options) }
    },
    FuzzTarget(name: "set", input: "helm --set expressions, one a line") { bytes in
        var values: [String: HelmValue] = [:]
        for line in text(bytes).split(separator: "\n") {
            _ = try? SetValues.apply(String(line), to: &values)
            _ = try? SetValues.apply(String(line), to: &values, asString: true)
        }
    },
    FuzzTarget(name: "schema", input: "a JSON schema, NUL, values as YAML: checked as helm checks values.schema.json") { bytes in
        let (schema, values) = split(bytes)
        guard let schemaValue = try? JSONParser.parse(schema), let valuesValue = try? YAMLValue.parse(values, file: "values.yaml") else { return }
        _ = ValuesSchema.problems(valuesValue, schema: schemaValue)
    },
    FuzzTarget(name: "selector", input: "a label selector or glob, NUL, labels (k=v lines) or a path") { bytes in
        let (pattern, subject) = split(bytes)
        var labels: [String: String] = [:]
        for line in subject.split(separator: "\n") {
            let pair = line.split(separator: "=", maxSplits: 1)
            labels[String(pair.first ?? "")] = pair.count > 1 ? String(pair[1]) : ""
        }
        if let selector = try? LabelSelector(parsing: pattern) { _ = selector.matches(labels) }
        _ = Glob.pathMatch(pattern, subject)
        _ = Glob.doublestarMatch(pattern, subject)
        _ = Glob.anyMatch(pattern, subject)
        _ = Glob.expandBraces(String(pattern.prefix(256)))
    },
    FuzzTarget(name: "regex", input: "an RE2 pattern, NUL, a subject: through Sprig's regex functions (match, find all, replace, split)") { bytes in
        let (pattern, subject) = split(bytes)
        let dot: JSONValue = .object([("p", .string(pattern)), ("s", .string(subject))])
        _ = try? regexTemplate.render(dot, limits: templateLimits())
    },
    FuzzTarget(name: "sim", input: "an HTTP request to the simulated kube-apiserver: METHOD PATH?QUERY, header lines, a blank line, the body (JSON, YAML or protobuf)") { bytes in
        let request = httpRequest(bytes)
        let cluster = SimCluster(options: .init(name: "fuzz"))
        _ = cluster.handle(request)
        // The same request again, against what the first one created.
        _ = cluster.handle(request)
    },
    FuzzTarget(name: "kube", input: "a Kubernetes API server's answer: one byte choosing the HTTP status and the chunk size, then the body — read as an error Status, discovery, a list page, and a watch stream into the cluster cache") { bytes in
        let first = Int(bytes.first ?? 0)
        let body = Array(bytes.dropFirst())
        let refusal = KubeError.from(status: 200 + first % 320, body: body, cluster: "fuzz", object: "fuzz")
        precondition(refusal.message.count <= 4000, "an error message is not bounded")
        if let answer = try? JSONParser.parse(text(body)) {
            for (group, version) in KubeDecoding.groupVersions(answer) { _ = KubeDecoding.resources(answer, group: group, version: version) }
            _ = KubeDecoding.ListPage(answer)
        }
        // As a watch stream of Deployments arriving in chunks, into the cache a cluster's watches keep.
        let kind = KubeClient.kindKey(group: "apps", kind: "Deployment")
        var index = CacheIndex()
        _ = index.replace(kind: kind, items: [], resourceVersion: "1")
        var lines = KubeDecoding.LineSplitter(maxLineBytes: 4096)
        var applications = Set<String>()
        func received(_ line: ArraySlice<UInt8>) {
            guard case .change(let change, let object)?? = try? KubeDecoding.WatchEvent.parse(line) else { return }
            let ref = ObjectRef(group: "apps", kind: "Deployment", namespace: object.value(at: ["metadata", "namespace"])?.stringValue,
                                name: object.value(at: ["metadata", "name"])?.stringValue ?? "")
            if let app = index.apply(change, kind: kind, ref: ref, object: object) { applications.insert(app) }
        }
        let chunk = first % 61 + 1
        var offset = 0
        while offset < body.count {
            let end = min(body.count, offset + chunk)
            let fed: Bool = body[offset..<end].withUnsafeBufferPointer { piece in
                do { try lines.feed(piece, line: received); return true } catch { return false }
            }
            guard fed else { break }
            precondition(lines.pendingCount <= 4096, "a watch line grew past its limit")
            offset = end
        }
        if let last = lines.finish() { received(last) }
        for app in applications {
            for (_, object) in index.inventory(application: app, kinds: [kind]) ?? [:] {
                precondition(object.value(at: ["metadata", "annotations", Syncer.appAnnotation])?.stringValue == app,
                             "the cache lists an object under an Application it does not belong to")
            }
        }
    },
    FuzzTarget(name: "webhook", input: "a git push webhook: header lines, a blank line, the body") { bytes in
        let request = httpRequest(Array("POST /api/v1/webhook/git\n".utf8) + bytes)
        _ = try? GitWebhook.parse(headers: request.headers, body: request.body, secret: "fuzz-secret")
        _ = try? GitWebhook.parse(headers: ["x-gitlab-token": "fuzz-secret"], body: request.body, secret: "fuzz-secret")
    },
    FuzzTarget(name: "form", input: "a query string or form body, NUL, a Cookie header: as the hub's API and dashboard read them") { bytes in
        let (query, cookie) = split(bytes)
        _ = QueryString.parse(query)
        _ = Session.cookies(cookie)
        _ = APIToken.parse(cookie)
        _ = try? RBACPolicy.parse(query)
    },
]

/// Every regex function of Sprig on `.p` and `.s`, each in its own `with` so that one refusing the pattern does
/// not hide the others' work (the first error ends the render).
let regexTemplate = try! GoTemplate(#"{{ regexMatch .p .s }}|{{ regexFindAll .p .s 100 }}|{{ regexFind .p .s }}|{{ regexReplaceAll .p .s "<${1}>" }}|{{ regexReplaceAllLiteral .p .s "x" }}|{{ regexSplit .p .s 10 }}"#,
                                    name: "regex", functions: .argoCD)

/// Equal as JSON: numbers by value (Go and JSON print 1.0 as 1), everything else exactly.
func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
    case (.double(let x), .double(let y)): return x == y || (x.isNaN && y.isNaN)
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { sameJSON($0, $1) }
    case (.object(let x), .object(let y)):
        return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && sameJSON($0.1, $1.1) }
    default: return a == b
    }
}

/// `METHOD PATH?QUERY` on the first line, `name: value` header lines, a blank line, then the body.
func httpRequest(_ bytes: [UInt8]) -> ServerRequest {
    var lines: [String] = []
    var index = 0
    var body: [UInt8] = []
    while index < bytes.count {
        let end = bytes[index...].firstIndex(of: 10) ?? bytes.count
        let line = text(Array(bytes[index..<end]))
        index = end + 1
        if line.isEmpty && !lines.isEmpty {
            body = index < bytes.count ? Array(bytes[index...]) : []
            break
        }
        lines.append(line)
    }
    let first = (lines.first ?? "GET /").split(separator: " ", maxSplits: 1)
    let target = first.count > 1 ? String(first[1]) : "/"
    let pathAndQuery = target.split(separator: "?", maxSplits: 1)
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
        let pair = line.split(separator: ":", maxSplits: 1)
        guard pair.count == 2 else { continue }
        headers[pair[0].lowercased()] = pair[1].trimmingCharacters(in: .whitespaces)
    }
    return ServerRequest(method: String(first.first ?? "GET"), path: String(pathAndQuery.first ?? "/"),
                         query: QueryString.parse(pathAndQuery.count > 1 ? String(pathAndQuery[1]) : nil), headers: headers, body: body)
}
