import FleetConfig
import FleetModel
import Foundation

/// What Argo CD adds to Sprig for ApplicationSets: `normalize`, `slugify`, and `toYaml`, `fromYaml`,
/// `fromYamlArray`, whose errors (unlike Helm's) fail the render.
enum ArgoFunctions {
    static let family: [TemplateFunction] = [
        F("normalize", [.string]) { a, _ in .string(normalizeName(a[0].stringValue!)) },
        F("slugify", [], variadic: .any) { a, _ in
            guard let text = a.last else { throw Sprig.fail("wrong number of args for slugify: want at least 1 got 0") }
            let max = a.count > 1 ? Sprig.int64(a[0]) : 50
            let smart = a.count > 2 ? a[1].isTrue : true
            return .string(slugify(Sprig.str(text), maxSize: max, smartTruncate: smart))
        },
        F("toYaml", [.any]) { a, _ in
            if a[0].isNil { return .string("null") }
            var text = YAMLOutput.render(a[0].json)
            if text.hasSuffix("\n") { text.removeLast() }
            return .string(text)
        },
        F("fromYaml", [.string]) { a, _ in
            let v: JSONValue
            do { v = try YAMLValue.parse(a[0].stringValue!, file: nil) } catch { throw Sprig.fail("error unmarshaling YAML: \(error)") }
            if case .object = v { return TemplateValue(v) }
            if v.isNull { return .map(TemplateMap()) }
            throw Sprig.fail("error unmarshaling YAML: cannot unmarshal \(YAMLValue.kind(v)) into Go value of type map[string]interface {}")
        },
        F("fromYamlArray", [.string]) { a, _ in
            let v: JSONValue
            do { v = try YAMLValue.parse(a[0].stringValue!, file: nil) } catch { throw Sprig.fail("error unmarshaling YAML: \(error)") }
            if case .array = v { return TemplateValue(v) }
            if v.isNull { return Sprig.list([]) }
            throw Sprig.fail("error unmarshaling YAML: cannot unmarshal \(YAMLValue.kind(v)) into Go value of type []interface {}")
        },
    ]
}

extension YAMLValue {
    public static func kind(_ v: JSONValue) -> String {
        switch v {
        case .object: return "object"
        case .array: return "array"
        case .string: return "string"
        default: return "number"
        }
    }
}
