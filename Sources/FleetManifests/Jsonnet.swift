import CJsonnet
import FleetModel
import Foundation

/// Argo CD's `directory.jsonnet` options: external variables, top-level arguments (each a string or, with
/// `code: true`, jsonnet code) and library paths (relative to the repository root).
public struct JsonnetOptions: Sendable, Equatable {
    public struct Variable: Sendable, Equatable {
        public var name: String
        public var value: String
        public var code: Bool
        public init(name: String, value: String, code: Bool = false) {
            self.name = name
            self.value = value
            self.code = code
        }
    }

    public var extVars: [Variable] = []
    public var tlas: [Variable] = []
    public var libs: [String] = []

    public init(extVars: [Variable] = [], tlas: [Variable] = [], libs: [String] = []) {
        self.extVars = extVars
        self.tlas = tlas
        self.libs = libs
    }

    /// Reads `source.directory.jsonnet`; a malformed entry is an error naming its field.
    public init(_ spec: JSONValue?) throws {
        guard let spec, !spec.isNull else { return }
        func variables(_ key: String) throws -> [Variable] {
            try (spec[key]?.arrayValue ?? []).enumerated().map { i, item in
                guard let name = item["name"]?.stringValue, !name.isEmpty else {
                    throw ManifestError("directory.jsonnet.\(key)[\(i)].name: required field is missing")
                }
                return Variable(name: name, value: item["value"]?.stringValue ?? "", code: item["code"]?.boolValue ?? false)
            }
        }
        extVars = try variables("extVars")
        tlas = try variables("tlas")
        libs = (spec["libs"]?.arrayValue ?? []).compactMap(\.stringValue)
    }

    var cacheKey: String {
        (extVars + [Variable(name: "|", value: "")] + tlas).map { "\($0.name)=\($0.code ? "c" : "s"):\($0.value)" }.joined(separator: "\u{0}")
            + "\u{0}" + libs.joined(separator: "\u{0}")
    }
}

/// Evaluates jsonnet with the reference implementation (libjsonnet), in this process.
public enum Jsonnet {
    /// The JSON text `file` evaluates to. `jpaths` are import directories (absolute).
    public static func evaluate(file: String, options: JsonnetOptions, jpaths: [String]) throws -> String {
        guard let vm = jsonnet_make() else { throw ManifestError("cannot start the jsonnet interpreter") }
        defer { jsonnet_destroy(vm) }
        jsonnet_max_stack(vm, 500)
        jsonnet_max_trace(vm, 20)
        for p in jpaths { jsonnet_jpath_add(vm, p) }
        for v in options.extVars {
            if v.code { jsonnet_ext_code(vm, v.name, v.value) } else { jsonnet_ext_var(vm, v.name, v.value) }
        }
        for v in options.tlas {
            if v.code { jsonnet_tla_code(vm, v.name, v.value) } else { jsonnet_tla_var(vm, v.name, v.value) }
        }
        var error: Int32 = 0
        guard let output = jsonnet_evaluate_file(vm, file, &error) else { throw ManifestError("jsonnet returned nothing for \(file)") }
        let text = String(cString: output)
        _ = jsonnet_realloc(vm, output, 0)
        if error != 0 { throw ManifestError(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return text
    }

    /// The manifests a jsonnet output holds: an object, a list of objects, or a `kind: List`.
    public static func manifests(_ json: String, file: String) throws -> [JSONValue] {
        let value: JSONValue
        do { value = try JSONParser.parse(json) } catch { throw ManifestError("\(file): jsonnet output is not JSON: \(error)") }
        var out: [JSONValue] = []
        func add(_ v: JSONValue) throws {
            switch v {
            case .array(let items): for item in items { try add(item) }
            case .object:
                if v["kind"]?.stringValue == "List", let items = v["items"]?.arrayValue { for item in items { try add(item) } } else { out.append(v) }
            case .null: return
            default: throw ManifestError("\(file): jsonnet output must be an object or a list of objects")
            }
        }
        try add(value)
        return out
    }
}

/// Where jsonnet runs. Jsonnet has no time or memory bound of its own, so a hub evaluates it in a child
/// process it can stop (`SubprocessJsonnet`); tools evaluate in-process.
public protocol JsonnetEvaluator: Sendable {
    func evaluate(file: String, options: JsonnetOptions, jpaths: [String], timeout: Double) throws -> String
}

public struct InProcessJsonnet: JsonnetEvaluator {
    public init() {}
    public func evaluate(file: String, options: JsonnetOptions, jpaths: [String], timeout: Double) throws -> String {
        try Jsonnet.evaluate(file: file, options: options, jpaths: jpaths)
    }
}

/// Runs `EXECUTABLE jsonnet-eval …` (the flotilla binary's hidden command) and kills it after the timeout.
public struct SubprocessJsonnet: JsonnetEvaluator {
    public let executable: String
    public init(executable: String) { self.executable = executable }

    public static func arguments(file: String, options: JsonnetOptions, jpaths: [String]) -> [String] {
        var args = ["jsonnet-eval", "--file", file]
        for p in jpaths { args += ["--jpath", p] }
        for v in options.extVars { args += [v.code ? "--ext-code" : "--ext-str", "\(v.name)=\(v.value)"] }
        for v in options.tlas { args += [v.code ? "--tla-code" : "--tla-str", "\(v.name)=\(v.value)"] }
        return args
    }

    public func evaluate(file: String, options: JsonnetOptions, jpaths: [String], timeout: Double) throws -> String {
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(executable, Self.arguments(file: file, options: options, jpaths: jpaths), timeout: timeout)
        } catch let error as Subprocess.Failure {
            switch error {
            case .timedOut(let seconds): throw ManifestError("jsonnet did not finish within \(Int(seconds)) s and was stopped (limits.subprocessTimeout)")
            case .cannotStart(let why): throw ManifestError("cannot run jsonnet: \(why)")
            }
        }
        guard result.status == 0 else {
            throw ManifestError(String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: result.stdout, as: UTF8.self)
    }
}
