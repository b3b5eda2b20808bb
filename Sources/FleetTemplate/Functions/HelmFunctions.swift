import FleetConfig
import FleetModel
import Foundation

/// What Helm adds to Sprig for charts (Sprig without `env` and `expandenv`): `include`, `tpl`, `required`,
/// `lookup` (empty: a render reads no cluster, as `helm template` does), and YAML/JSON conversions whose
/// errors, unlike Argo CD's, come back as values (`{"Error": …}`), as Helm's do.
enum HelmFunctions {
    static let family: [TemplateFunction] = [
        F("include", [.string, .any]) { a, ctx in
            guard let include = ctx.include else { throw Sprig.fail("include is only available while a template runs") }
            return .string(try include(a[0].stringValue!, a[1]))
        },
        F("tpl", [.string, .any]) { a, ctx in
            guard let render = ctx.renderText else { throw Sprig.fail("tpl is only available while a template runs") }
            return .string(try render(a[0].stringValue!, a[1]))
        },
        F("required", [.string, .any]) { a, _ in
            if a[1].isNil { throw Sprig.fail(a[0].stringValue!) }
            if case .string(let s) = a[1], s.isEmpty { throw Sprig.fail(a[0].stringValue!) }
            return a[1]
        },
        F("lookup", [.string, .string, .string, .string]) { _, _ in .map(TemplateMap()) },
        F("toYaml", [.any]) { a, _ in .string(yaml(a[0])) },
        F("toYamlPretty", [.any]) { a, _ in .string(yaml(a[0])) },
        // BurntSushi/toml's encoder; an error is the text (`toToml`) or fails the render (`mustToToml`, Helm 4.2).
        F("toToml", [.any]) { a, _ in
            do { return .string(try TOMLOutput.render(a[0])) } catch { return .string("\(error)") }
        },
        F("mustToToml", [.any]) { a, _ in
            do { return .string(try TOMLOutput.render(a[0])) } catch { throw Sprig.fail("\(error)") }
        },
        F("fromYaml", [.string]) { a, _ in
            do {
                let v = try YAMLValue.parse(a[0].stringValue!, file: nil)
                if case .object = v { return TemplateValue(v) }
                if v.isNull { return .map(TemplateMap()) }
                return errorMap("error unmarshaling JSON: json: cannot unmarshal \(YAMLValue.kind(v)) into Go value of type map[string]interface {}")
            } catch { return errorMap("\(error)") }
        },
        F("fromYamlArray", [.string]) { a, _ in
            do {
                let v = try YAMLValue.parse(a[0].stringValue!, file: nil)
                if case .array = v { return TemplateValue(v) }
                if v.isNull { return Sprig.list([]) }
                return Sprig.list([.string("error unmarshaling JSON: json: cannot unmarshal \(YAMLValue.kind(v)) into Go value of type []interface {}")])
            } catch { return Sprig.list([.string("\(error)")]) }
        },
        F("fromJson", [.string]) { a, _ in
            do {
                let v = try SprigConversion.fromJSON(a[0].stringValue!)
                if case .map = v { return v }
                return errorMap("json: cannot unmarshal \(v.kindName) into Go value of type map[string]interface {}")
            } catch { return errorMap("\(error)") }
        },
        F("fromJsonArray", [.string]) { a, _ in
            do {
                let v = try SprigConversion.fromJSON(a[0].stringValue!)
                if case .list = v { return v }
                return Sprig.list([.string("json: cannot unmarshal \(v.kindName) into Go value of type []interface {}")])
            } catch { return Sprig.list([.string("\(error)")]) }
        },
    ]

    static func errorMap(_ message: String) -> TemplateValue { .map(TemplateMap(["Error": .string(message)])) }

    /// sigs.k8s.io/yaml's Marshal, as Helm's toYaml: map keys sorted, the final newline removed.
    static func yaml(_ v: TemplateValue) -> String {
        if v.isNil { return "null" }
        var text = YAMLOutput.render(v.json)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}

extension FunctionTable {
    /// What Helm gives chart templates: Sprig without `env` and `expandenv`, plus Helm's functions.
    public static let helm = sprig.removing(["env", "expandenv"]).adding(HelmFunctions.family)
}
