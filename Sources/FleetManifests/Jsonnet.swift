import CJsonnet
import FleetKube
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
    /// The JSON text `file` evaluates to. `jpaths` are import directories (absolute). Every import (`import`,
    /// `importstr`, `importbin`), relative or absolute, must resolve inside `root` (the repository's work copy,
    /// which holds the library paths too): anything else is refused by name, so a source cannot read the hub's
    /// own files.
    public static func evaluate(file: String, options: JsonnetOptions, jpaths: [String], root: String) throws -> String {
        guard let vm = jsonnet_make() else { throw ManifestError("cannot start the jsonnet interpreter") }
        defer { jsonnet_destroy(vm) }
        jsonnet_max_stack(vm, 500)
        jsonnet_max_trace(vm, 20)
        for p in jpaths { jsonnet_jpath_add(vm, p) }
        let importer = ConfinedImporter(vm: vm, root: root, jpaths: jpaths)
        let context = Unmanaged.passRetained(importer)
        defer { context.release() }
        jsonnet_import_callback(vm, confinedImport, context.toOpaque())
        for v in options.extVars {
            if v.code { jsonnet_ext_code(vm, v.name, v.value) } else { jsonnet_ext_var(vm, v.name, v.value) }
        }
        for v in options.tlas {
            if v.code { jsonnet_tla_code(vm, v.name, v.value) } else { jsonnet_tla_var(vm, v.name, v.value) }
        }
        guard let entry = importer.confine(file) else {
            throw ManifestError("\(file) is outside the repository (\(root))")
        }
        var error: Int32 = 0
        guard let output = jsonnet_evaluate_file(vm, entry, &error) else { throw ManifestError("jsonnet returned nothing for \(file)") }
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

/// Resolves jsonnet imports as the reference implementation does (relative to the importing file, then the
/// library paths, last added first), but only inside the repository: the path is made absolute, `.` and `..`
/// removed and links resolved before it is compared with the root at a path boundary.
final class ConfinedImporter {
    let vm: OpaquePointer
    let root: String
    let jpaths: [String]
    /// Bytes one imported file may hold.
    static let maxFileBytes = 64 << 20

    init(vm: OpaquePointer, root: String, jpaths: [String]) {
        self.vm = vm
        self.root = Self.resolved(root)
        self.jpaths = jpaths
    }

    /// The absolute, link-free form of `path`; the part that does not exist yet is kept as written (normalised).
    static func resolved(_ path: String) -> String {
        let standard = (path as NSString).standardizingPath
        if let real = realpath(standard, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        return standard
    }

    /// `path` when it lies inside the root, else nil.
    func confine(_ path: String) -> String? {
        let resolved = Self.resolved(path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path)
        return resolved == root || resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/") ? resolved : nil
    }

    enum Answer {
        case found(path: String, content: String)
        case refused(String)
    }

    func resolve(base: String, rel: String) -> Answer {
        let candidates = rel.hasPrefix("/") ? [rel] : [base + (base.hasSuffix("/") || base.isEmpty ? "" : "/") + rel] + jpaths.reversed().map { $0 + "/" + rel }
        for candidate in candidates {
            guard let path = confine(candidate) else {
                return .refused("import \"\(rel)\" is outside the repository: jsonnet sources may import only files of their repository and its library paths")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            if size > Self.maxFileBytes {
                return .refused("import \"\(rel)\" is \(size) bytes, over the limit of \(Self.maxFileBytes) bytes for one imported file")
            }
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            return .found(path: path, content: String(decoding: data, as: UTF8.self))
        }
        return .refused("couldn't open import \"\(rel)\": no match locally or in the Jsonnet library paths")
    }

    /// A copy of `text` in memory the interpreter owns (it frees it).
    func owned(_ text: String) -> UnsafeMutablePointer<CChar>? {
        let bytes = Array(text.utf8)
        guard let raw = jsonnet_realloc(vm, nil, bytes.count + 1) else { return nil }
        bytes.withUnsafeBufferPointer { buffer in
            raw.withMemoryRebound(to: UInt8.self, capacity: bytes.count + 1) { out in
                if let base = buffer.baseAddress { out.update(from: base, count: bytes.count) }
                out[bytes.count] = 0
            }
        }
        return raw
    }
}

/// libjsonnet's import callback: confined to the repository (`ConfinedImporter`).
private let confinedImport: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafePointer<CChar>?,
                                            UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>? = {
    context, base, rel, foundHere, success in
    guard let context, let rel else { success?.pointee = 0; return nil }
    let importer = Unmanaged<ConfinedImporter>.fromOpaque(context).takeUnretainedValue()
    switch importer.resolve(base: base.map { String(cString: $0) } ?? "", rel: String(cString: rel)) {
    case .found(let path, let content):
        foundHere?.pointee = importer.owned(path)
        success?.pointee = 1
        return importer.owned(content)
    case .refused(let message):
        success?.pointee = 0
        return importer.owned(message)
    }
}

/// Where jsonnet runs. Jsonnet has no time or memory bound of its own, so a hub evaluates it in a child
/// process it can stop (`SubprocessJsonnet`); tools evaluate in-process.
public protocol JsonnetEvaluator: Sendable {
    /// Evaluates `file`; every import must resolve inside `root` (see `Jsonnet.evaluate`). `isCancelled` stops
    /// an evaluation that can be stopped (a child process).
    func evaluate(file: String, options: JsonnetOptions, jpaths: [String], root: String, timeout: Double,
                  isCancelled: (@Sendable () -> Bool)?) throws -> String
}

extension JsonnetEvaluator {
    public func evaluate(file: String, options: JsonnetOptions, jpaths: [String], root: String, timeout: Double) throws -> String {
        try evaluate(file: file, options: options, jpaths: jpaths, root: root, timeout: timeout, isCancelled: nil)
    }
}

public struct InProcessJsonnet: JsonnetEvaluator {
    public init() {}
    public func evaluate(file: String, options: JsonnetOptions, jpaths: [String], root: String, timeout: Double,
                         isCancelled: (@Sendable () -> Bool)?) throws -> String {
        try Jsonnet.evaluate(file: file, options: options, jpaths: jpaths, root: root)
    }
}

/// Runs `EXECUTABLE jsonnet-eval …` (the flotilla binary's hidden command) and kills it after the timeout.
public struct SubprocessJsonnet: JsonnetEvaluator {
    public let executable: String
    public init(executable: String) { self.executable = executable }

    public static func arguments(file: String, options: JsonnetOptions, jpaths: [String], root: String) -> [String] {
        var args = ["jsonnet-eval", "--file", file, "--root", root]
        for p in jpaths { args += ["--jpath", p] }
        for v in options.extVars { args += [v.code ? "--ext-code" : "--ext-str", "\(v.name)=\(v.value)"] }
        for v in options.tlas { args += [v.code ? "--tla-code" : "--tla-str", "\(v.name)=\(v.value)"] }
        return args
    }

    public func evaluate(file: String, options: JsonnetOptions, jpaths: [String], root: String, timeout: Double,
                         isCancelled: (@Sendable () -> Bool)?) throws -> String {
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(executable, Self.arguments(file: file, options: options, jpaths: jpaths, root: root), timeout: timeout,
                                        isCancelled: isCancelled)
        } catch let error as Subprocess.Failure {
            switch error {
            case .timedOut(let seconds): throw ManifestError("jsonnet did not finish within \(Int(seconds)) s and was stopped (limits.subprocessTimeout)")
            case .cancelled: throw ManifestError("jsonnet was stopped: the render was cancelled")
            case .cannotStart(let why): throw ManifestError("cannot run jsonnet: \(why)")
            }
        }
        guard result.status == 0 else {
            throw ManifestError(String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: result.stdout, as: UTF8.self)
    }
}
