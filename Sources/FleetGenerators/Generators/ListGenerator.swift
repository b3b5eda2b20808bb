import FleetConfig
import FleetModel

/// `list`: one parameter set per element of `elements`, then of `elementsYaml` (a YAML list, usually
/// templated from a matrix sibling).
public struct ListGenerator: Generator {
    public static let name = "list"
    public init() {}

    public func generate(_ spec: JSONValue, field: String, depth: Int, context: GeneratorContext) throws -> [ParamSet] {
        var elements: [(JSONValue, String)] = []
        if let list = spec["elements"] {
            guard let items = list.arrayValue else { throw GenerationError(.invalidSpec, field: "\(field).elements", "must be a list") }
            elements += items.enumerated().map { ($0.element, "\(field).elements[\($0.offset)]") }
        }
        if let yaml = spec["elementsYaml"] {
            guard let text = yaml.stringValue else { throw GenerationError(.invalidSpec, field: "\(field).elementsYaml", "must be a string") }
            let parsed: JSONValue
            do { parsed = try YAMLValue.parse(text, file: nil) } catch {
                throw GenerationError(.invalidSpec, field: "\(field).elementsYaml", "is not valid YAML: \(error)")
            }
            guard let items = parsed.arrayValue ?? (parsed.isNull ? [] : nil) else {
                throw GenerationError(.invalidSpec, field: "\(field).elementsYaml", "must be a YAML list of mappings")
            }
            elements += items.enumerated().map { ($0.element, "\(field).elementsYaml[\($0.offset)]") }
        }
        return try elements.map { element, path in
            guard let pairs = element.objectValue else {
                throw GenerationError(.invalidSpec, field: path, "each element must be a mapping")
            }
            var params: Params = [:]
            if context.goTemplate {
                for (k, v) in pairs { params[k] = v }
            } else {
                for (k, v) in pairs {
                    if k == "values", let values = v.objectValue {
                        for (vk, vv) in values { params["values.\(vk)"] = .string(ParamFlattening.scalarString(vv)) }
                        continue
                    }
                    guard case .string = v else {
                        throw GenerationError(.invalidSpec, field: "\(path).\(k)",
                                              "error parsing value as string: \(v.serialized(pretty: false)) (fasttemplate mode needs string values; quote it, or set goTemplate: true)")
                    }
                    params[k] = v
                }
            }
            return ParamSet(params: params, origin: .item(generator: "list", detail: path.components(separatedBy: ".").last ?? path))
        }
    }
}

import Foundation
