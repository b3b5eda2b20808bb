import FleetModel
import Foundation

/// The protocol buffers wire format, as far as Kubernetes objects use it: varints, length-delimited fields
/// (strings, bytes, messages, map entries), and the fixed-width types skipped over.
enum ProtoWire {
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed64
        case fixed32
    }

    struct Malformed: Error, Equatable {
        let message: String
    }

    /// The fields of one message, in order.
    static func fields(_ data: ArraySlice<UInt8>) throws(Malformed) -> [(number: Int, value: Value)] {
        var out: [(Int, Value)] = []
        var i = data.startIndex
        func varint() throws(Malformed) -> UInt64 {
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < data.endIndex else { throw Malformed(message: "truncated varint") }
                let byte = data[i]
                i += 1
                guard shift < 64 else { throw Malformed(message: "varint longer than 10 bytes") }
                result |= UInt64(byte & 0x7f) << shift
                if byte & 0x80 == 0 { return result }
                shift += 7
            }
        }
        while i < data.endIndex {
            let key = try varint()
            let number = Int(key >> 3)
            guard number > 0 else { throw Malformed(message: "field number 0") }
            switch key & 7 {
            case 0: out.append((number, .varint(try varint())))
            case 1:
                guard data.endIndex - i >= 8 else { throw Malformed(message: "truncated fixed64 field \(number)") }
                i += 8
                out.append((number, .fixed64))
            case 2:
                let length = try varint()
                guard length <= UInt64(data.endIndex - i) else { throw Malformed(message: "field \(number) is longer than the message") }
                out.append((number, .bytes(data[i..<(i + Int(length))])))
                i += Int(length)
            case 5:
                guard data.endIndex - i >= 4 else { throw Malformed(message: "truncated fixed32 field \(number)") }
                i += 4
                out.append((number, .fixed32))
            default:
                throw Malformed(message: "unsupported wire type \(key & 7) for field \(number)")
            }
        }
        return out
    }
}

/// How a protobuf message maps to a Kubernetes object's JSON: field numbers to JSON names and types, as the
/// published API definitions (`generated.proto` of k8s.io/api and apimachinery) give them.
struct ProtoMessage: Sendable {
    indirect enum FieldType: Sendable {
        case string, bytes, bool, int
        case message(ProtoMessage)
        /// `map<string, string>` (or bytes, base64 in JSON as encoding/json writes []byte).
        case stringMap, bytesMap
        /// meta/v1 Time: seconds and nanos, RFC 3339 in JSON.
        case time
        /// util/intstr IntOrString: `{type, intVal, strVal}`, a number or a string in JSON.
        case intOrString
        /// `map<string, resource.Quantity>`: a Quantity is a message holding its string.
        case quantityMap
        /// Read past and dropped: what kube-apiserver ignores on a create (a status).
        case ignored
    }

    struct Field: Sendable {
        let name: String
        let type: FieldType
        var repeated = false
        /// A pointer field in Go: present with its zero value is not the same as absent.
        var keepZero = false
    }

    let name: String
    let fields: [Int: Field]

    /// The JSON of a message. Absent fields stay absent; zero values are dropped as the JSON encoding's
    /// `omitempty` drops them (gogo writes every non-pointer field), unless the field is a pointer.
    func json(_ data: ArraySlice<UInt8>) throws(ProtoWire.Malformed) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        func set(_ name: String, _ value: JSONValue, append: Bool) {
            if let i = pairs.firstIndex(where: { $0.0 == name }) {
                if append, case .array(var items) = pairs[i].1, case .array(let more) = value {
                    items += more
                    pairs[i].1 = .array(items)
                } else if append, case .object(var entries) = pairs[i].1, case .object(let more) = value {
                    entries += more
                    pairs[i].1 = .object(entries)
                } else {
                    pairs[i].1 = value
                }
            } else {
                pairs.append((name, value))
            }
        }
        for (number, value) in try ProtoWire.fields(data) {
            guard let field = fields[number] else {
                throw ProtoWire.Malformed(message: "\(name) has no field \(number) the simulator knows")
            }
            let decoded = try field.decode(value, in: name)
            if field.repeated {
                set(field.name, .array([decoded]), append: true)
            } else if case .stringMap = field.type {
                set(field.name, decoded, append: true)
            } else if case .bytesMap = field.type {
                set(field.name, decoded, append: true)
            } else if case .quantityMap = field.type {
                set(field.name, decoded, append: true)
            } else if case .ignored = field.type {
                continue
            } else {
                set(field.name, decoded, append: false)
            }
        }
        return .object(pairs.compactMap { name, value in
            let field = fields.values.first { $0.name == name }
            return Self.isZero(value) && field?.keepZero != true ? nil : (name, value)
        })
    }

    static func isZero(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let s): return s.isEmpty
        case .int(let i): return i == 0
        case .bool(let b): return !b
        case .object(let o): return o.isEmpty
        case .array(let a): return a.isEmpty
        case .null: return true
        default: return false
        }
    }
}

extension ProtoMessage.Field {
    func decode(_ value: ProtoWire.Value, in message: String) throws(ProtoWire.Malformed) -> JSONValue {
        func bytes() throws(ProtoWire.Malformed) -> ArraySlice<UInt8> {
            guard case .bytes(let b) = value else { throw ProtoWire.Malformed(message: "\(message).\(name): expected a length-delimited field") }
            return b
        }
        func number() throws(ProtoWire.Malformed) -> UInt64 {
            guard case .varint(let v) = value else { throw ProtoWire.Malformed(message: "\(message).\(name): expected a varint") }
            return v
        }
        switch type {
        case .string:
            guard let s = String(validating: try bytes(), as: UTF8.self) else { throw ProtoWire.Malformed(message: "\(message).\(name) is not UTF-8") }
            return .string(s)
        case .bytes: return .string(Data(try bytes()).base64EncodedString())
        case .bool: return .bool(try number() != 0)
        case .int: return .int(Int(Int64(bitPattern: try number())))
        case .message(let inner): return try inner.json(try bytes())
        case .stringMap, .bytesMap:
            var key = "", entry: JSONValue = .string("")
            for (n, v) in try ProtoWire.fields(try bytes()) {
                guard case .bytes(let b) = v else { throw ProtoWire.Malformed(message: "\(message).\(name): a map entry holds a varint") }
                if n == 1 { key = String(decoding: b, as: UTF8.self) }
                if n == 2 {
                    if case .bytesMap = type { entry = .string(Data(b).base64EncodedString()) } else { entry = .string(String(decoding: b, as: UTF8.self)) }
                }
            }
            return .object([(key, entry)])
        case .quantityMap:
            var key = "", quantity = ""
            for (n, v) in try ProtoWire.fields(try bytes()) {
                guard case .bytes(let b) = v else { throw ProtoWire.Malformed(message: "\(message).\(name): a map entry holds a varint") }
                if n == 1 { key = String(decoding: b, as: UTF8.self) }
                if n == 2 {
                    for (m, q) in try ProtoWire.fields(b) where m == 1 {
                        if case .bytes(let text) = q { quantity = String(decoding: text, as: UTF8.self) }
                    }
                }
            }
            return .object([(key, .string(quantity))])
        case .intOrString:
            var kind: UInt64 = 0, int: Int64 = 0, string = ""
            for (n, v) in try ProtoWire.fields(try bytes()) {
                switch (n, v) {
                case (1, .varint(let t)): kind = t
                case (2, .varint(let i)): int = Int64(Int32(truncatingIfNeeded: i))
                case (3, .bytes(let b)): string = String(decoding: b, as: UTF8.self)
                default: throw ProtoWire.Malformed(message: "\(message).\(name): IntOrString has no field \(n) of that type")
                }
            }
            guard kind <= 1 else { throw ProtoWire.Malformed(message: "\(message).\(name): IntOrString type \(kind) is neither 0 (int) nor 1 (string)") }
            return kind == 1 ? .string(string) : .int(Int(int))
        case .ignored:
            _ = try bytes()
            return .null
        case .time:
            var seconds: Int64 = 0
            for (n, v) in try ProtoWire.fields(try bytes()) where n == 1 {
                if case .varint(let s) = v { seconds = Int64(bitPattern: s) }
            }
            // Go's zero time (year 1) is how an unset timestamp travels: no timestamp.
            if seconds <= 0 { return .null }
            return .string(Timestamp.rfc3339(Date(timeIntervalSince1970: TimeInterval(seconds))))
        }
    }
}

/// Kubernetes' protobuf encoding (`application/vnd.kubernetes.protobuf`): the `k8s\0` prefix, then a
/// `runtime.Unknown` holding the type (apiVersion, kind) and the object's own message. kubectl sends the
/// built-in kinds of `kubectl create` this way; the simulator reads the kinds below and answers in JSON.
enum KubeProtobuf {
    static let contentType = "application/vnd.kubernetes.protobuf"
    static let magic: [UInt8] = [0x6b, 0x38, 0x73, 0x00]

    typealias F = ProtoMessage.Field

    static let time = F(name: "", type: .time)
    static let objectMeta = ProtoMessage(name: "ObjectMeta", fields: [
        1: F(name: "name", type: .string), 2: F(name: "generateName", type: .string), 3: F(name: "namespace", type: .string),
        4: F(name: "selfLink", type: .string), 5: F(name: "uid", type: .string), 6: F(name: "resourceVersion", type: .string),
        7: F(name: "generation", type: .int), 8: F(name: "creationTimestamp", type: .time), 9: F(name: "deletionTimestamp", type: .time),
        10: F(name: "deletionGracePeriodSeconds", type: .int, keepZero: true), 11: F(name: "labels", type: .stringMap),
        12: F(name: "annotations", type: .stringMap),
        13: F(name: "ownerReferences", type: .message(ownerReference), repeated: true),
        14: F(name: "finalizers", type: .string, repeated: true),
    ])
    static let ownerReference = ProtoMessage(name: "OwnerReference", fields: [
        1: F(name: "kind", type: .string), 3: F(name: "name", type: .string), 4: F(name: "uid", type: .string),
        5: F(name: "apiVersion", type: .string), 6: F(name: "controller", type: .bool, keepZero: true),
        7: F(name: "blockOwnerDeletion", type: .bool, keepZero: true),
    ])
    static let localObjectReference = ProtoMessage(name: "LocalObjectReference", fields: [1: F(name: "name", type: .string)])
    static let objectReference = ProtoMessage(name: "ObjectReference", fields: [
        1: F(name: "kind", type: .string), 2: F(name: "namespace", type: .string), 3: F(name: "name", type: .string),
        4: F(name: "uid", type: .string), 5: F(name: "apiVersion", type: .string), 6: F(name: "resourceVersion", type: .string),
        7: F(name: "fieldPath", type: .string),
    ])

    static let labelSelector = ProtoMessage(name: "LabelSelector", fields: [
        1: F(name: "matchLabels", type: .stringMap),
        2: F(name: "matchExpressions", type: .message(ProtoMessage(name: "LabelSelectorRequirement", fields: [
            1: F(name: "key", type: .string), 2: F(name: "operator", type: .string), 3: F(name: "values", type: .string, repeated: true),
        ])), repeated: true),
    ])
    static let container = ProtoMessage(name: "Container", fields: [
        1: F(name: "name", type: .string), 2: F(name: "image", type: .string), 3: F(name: "command", type: .string, repeated: true),
        4: F(name: "args", type: .string, repeated: true), 5: F(name: "workingDir", type: .string),
        6: F(name: "ports", type: .message(ProtoMessage(name: "ContainerPort", fields: [
            1: F(name: "name", type: .string), 2: F(name: "hostPort", type: .int), 3: F(name: "containerPort", type: .int),
            4: F(name: "protocol", type: .string), 5: F(name: "hostIP", type: .string),
        ])), repeated: true),
        7: F(name: "env", type: .message(ProtoMessage(name: "EnvVar", fields: [1: F(name: "name", type: .string), 2: F(name: "value", type: .string)])),
             repeated: true),
        8: F(name: "resources", type: .message(ProtoMessage(name: "ResourceRequirements", fields: [
            1: F(name: "limits", type: .quantityMap), 2: F(name: "requests", type: .quantityMap),
        ]))),
        13: F(name: "terminationMessagePath", type: .string), 14: F(name: "imagePullPolicy", type: .string),
        16: F(name: "stdin", type: .bool), 17: F(name: "stdinOnce", type: .bool), 18: F(name: "tty", type: .bool),
        20: F(name: "terminationMessagePolicy", type: .string),
    ])
    static let podSpec = ProtoMessage(name: "PodSpec", fields: [
        2: F(name: "containers", type: .message(container), repeated: true), 3: F(name: "restartPolicy", type: .string),
        4: F(name: "terminationGracePeriodSeconds", type: .int, keepZero: true), 5: F(name: "activeDeadlineSeconds", type: .int, keepZero: true),
        6: F(name: "dnsPolicy", type: .string), 7: F(name: "nodeSelector", type: .stringMap), 8: F(name: "serviceAccountName", type: .string),
        9: F(name: "serviceAccount", type: .string), 10: F(name: "nodeName", type: .string), 11: F(name: "hostNetwork", type: .bool),
        12: F(name: "hostPID", type: .bool), 13: F(name: "hostIPC", type: .bool),
        15: F(name: "imagePullSecrets", type: .message(localObjectReference), repeated: true), 16: F(name: "hostname", type: .string),
        17: F(name: "subdomain", type: .string), 19: F(name: "schedulerName", type: .string),
        20: F(name: "initContainers", type: .message(container), repeated: true),
        21: F(name: "automountServiceAccountToken", type: .bool, keepZero: true), 24: F(name: "priorityClassName", type: .string),
        25: F(name: "priority", type: .int, keepZero: true), 30: F(name: "enableServiceLinks", type: .bool, keepZero: true),
    ])
    static let podTemplateSpec = ProtoMessage(name: "PodTemplateSpec", fields: [
        1: F(name: "metadata", type: .message(objectMeta)), 2: F(name: "spec", type: .message(podSpec)),
    ])

    /// The kinds read from protobuf, by `apiVersion/kind`.
    static let kinds: [String: ProtoMessage] = [
        "v1/Namespace": ProtoMessage(name: "Namespace", fields: [
            1: F(name: "metadata", type: .message(objectMeta)),
            2: F(name: "spec", type: .message(ProtoMessage(name: "NamespaceSpec", fields: [1: F(name: "finalizers", type: .string, repeated: true)]))),
            3: F(name: "status", type: .message(ProtoMessage(name: "NamespaceStatus", fields: [1: F(name: "phase", type: .string)]))),
        ]),
        "v1/ConfigMap": ProtoMessage(name: "ConfigMap", fields: [
            1: F(name: "metadata", type: .message(objectMeta)), 2: F(name: "data", type: .stringMap),
            3: F(name: "binaryData", type: .bytesMap), 4: F(name: "immutable", type: .bool, keepZero: true),
        ]),
        "v1/Secret": ProtoMessage(name: "Secret", fields: [
            1: F(name: "metadata", type: .message(objectMeta)), 2: F(name: "data", type: .bytesMap), 3: F(name: "type", type: .string),
            4: F(name: "stringData", type: .stringMap), 5: F(name: "immutable", type: .bool, keepZero: true),
        ]),
        "apps/v1/Deployment": ProtoMessage(name: "Deployment", fields: [
            1: F(name: "metadata", type: .message(objectMeta)),
            2: F(name: "spec", type: .message(ProtoMessage(name: "DeploymentSpec", fields: [
                1: F(name: "replicas", type: .int, keepZero: true), 2: F(name: "selector", type: .message(labelSelector)),
                3: F(name: "template", type: .message(podTemplateSpec)),
                4: F(name: "strategy", type: .message(ProtoMessage(name: "DeploymentStrategy", fields: [
                    1: F(name: "type", type: .string),
                    2: F(name: "rollingUpdate", type: .message(ProtoMessage(name: "RollingUpdateDeployment", fields: [
                        1: F(name: "maxUnavailable", type: .intOrString, keepZero: true), 2: F(name: "maxSurge", type: .intOrString, keepZero: true),
                    ]))),
                ]))),
                5: F(name: "minReadySeconds", type: .int), 6: F(name: "revisionHistoryLimit", type: .int, keepZero: true),
                7: F(name: "paused", type: .bool), 9: F(name: "progressDeadlineSeconds", type: .int, keepZero: true),
            ]))),
            3: F(name: "status", type: .ignored),
        ]),
        "v1/Service": ProtoMessage(name: "Service", fields: [
            1: F(name: "metadata", type: .message(objectMeta)),
            2: F(name: "spec", type: .message(ProtoMessage(name: "ServiceSpec", fields: [
                1: F(name: "ports", type: .message(ProtoMessage(name: "ServicePort", fields: [
                    1: F(name: "name", type: .string), 2: F(name: "protocol", type: .string), 3: F(name: "port", type: .int),
                    4: F(name: "targetPort", type: .intOrString), 5: F(name: "nodePort", type: .int), 6: F(name: "appProtocol", type: .string),
                ])), repeated: true),
                2: F(name: "selector", type: .stringMap), 3: F(name: "clusterIP", type: .string), 4: F(name: "type", type: .string),
                5: F(name: "externalIPs", type: .string, repeated: true), 7: F(name: "sessionAffinity", type: .string),
                8: F(name: "loadBalancerIP", type: .string), 9: F(name: "loadBalancerSourceRanges", type: .string, repeated: true),
                10: F(name: "externalName", type: .string), 11: F(name: "externalTrafficPolicy", type: .string),
                12: F(name: "healthCheckNodePort", type: .int), 13: F(name: "publishNotReadyAddresses", type: .bool),
            ]))),
            3: F(name: "status", type: .ignored),
        ]),
        "v1/ServiceAccount": ProtoMessage(name: "ServiceAccount", fields: [
            1: F(name: "metadata", type: .message(objectMeta)), 2: F(name: "secrets", type: .message(objectReference), repeated: true),
            3: F(name: "imagePullSecrets", type: .message(localObjectReference), repeated: true),
            4: F(name: "automountServiceAccountToken", type: .bool, keepZero: true),
        ]),
    ]

    enum Failure: Error, Equatable {
        case malformed(String)
        /// A kind the simulator has no message definition for.
        case unsupportedKind(String)
    }

    /// The object a protobuf request body holds, as JSON with its apiVersion and kind.
    static func decode(_ body: [UInt8]) throws(Failure) -> JSONValue {
        guard body.count >= 4, Array(body.prefix(4)) == magic else { throw .malformed("the body does not start with the k8s protobuf prefix") }
        do {
            var apiVersion = "", kind = ""
            var raw: ArraySlice<UInt8> = []
            var encoding = ""
            for (number, value) in try ProtoWire.fields(body[4...]) {
                guard case .bytes(let bytes) = value else { continue }
                switch number {
                case 1:
                    for (n, v) in try ProtoWire.fields(bytes) {
                        guard case .bytes(let b) = v else { continue }
                        if n == 1 { apiVersion = String(decoding: b, as: UTF8.self) }
                        if n == 2 { kind = String(decoding: b, as: UTF8.self) }
                    }
                case 2: raw = bytes
                case 3: encoding = String(decoding: bytes, as: UTF8.self)
                default: break
                }
            }
            guard encoding.isEmpty else { throw Failure.malformed("content encoding '\(encoding)' is not supported") }
            guard let message = kinds["\(apiVersion)/\(kind)"] else { throw Failure.unsupportedKind("\(apiVersion)/\(kind)") }
            guard case .object(var pairs) = try message.json(raw) else { throw Failure.malformed("not an object") }
            pairs.insert(("kind", .string(kind)), at: 0)
            pairs.insert(("apiVersion", .string(apiVersion)), at: 0)
            return .object(pairs)
        } catch let failure as Failure {
            throw failure
        } catch let malformed as ProtoWire.Malformed {
            throw .malformed(malformed.message)
        } catch {
            throw .malformed("\(error)")
        }
    }
}
