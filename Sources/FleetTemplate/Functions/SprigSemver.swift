import FleetModel
import Foundation

/// Sprig's `semver` and `semverCompare`.
enum SprigSemver {
    static let family: [TemplateFunction] = [
        F("semver", [.string]) { a, _ in
            guard let v = SemanticVersion(a[0].stringValue!) else { throw Sprig.fail("Invalid Semantic Version") }
            return .object(SemverObject(version: v))
        },
        F("semverCompare", [.string, .string]) { a, _ in
            let constraints: SemverConstraints
            do { constraints = try SemverConstraints(a[0].stringValue!) } catch { throw Sprig.fail("\(error)") }
            guard let v = SemanticVersion(a[1].stringValue!) else { throw Sprig.fail("Invalid Semantic Version") }
            return .bool(constraints.isSatisfied(by: v))
        },
    ]
}

/// `*semver.Version`: its methods as templates call them.
struct SemverObject: TemplateObject {
    let version: SemanticVersion
    var typeName: String { "*semver.Version" }
    var kind: String { "ptr" }
    var description: String { version.description }
    var json: JSONValue { .string(version.description) }

    func field(_ name: String) -> TemplateValue? {
        switch name {
        case "Major": return .uint(UInt(version.major), .uint64)
        case "Minor": return .uint(UInt(version.minor), .uint64)
        case "Patch": return .uint(UInt(version.patch), .uint64)
        case "Prerelease": return .string(version.prerelease)
        case "Metadata": return .string(version.metadata)
        case "Original": return .string(version.original)
        case "String": return .string(version.description)
        case "IncMajor": return .object(SemverObject(version: SemanticVersion(major: version.major + 1)))
        case "IncMinor": return .object(SemverObject(version: SemanticVersion(major: version.major, minor: version.minor + 1)))
        case "IncPatch":
            let next = version.prerelease.isEmpty ? version.patch + 1 : version.patch
            return .object(SemverObject(version: SemanticVersion(major: version.major, minor: version.minor, patch: next)))
        default: return nil
        }
    }

    func call(_ name: String, _ args: [TemplateValue]) throws -> TemplateValue? {
        guard ["Compare", "LessThan", "GreaterThan", "Equal"].contains(name) else { return nil }
        guard args.count == 1, case .object(let o) = args[0], let other = o as? SemverObject else {
            throw TemplateError(.execution, "wrong type for value; expected *semver.Version")
        }
        let c = version.compare(other.version)
        switch name {
        case "Compare": return .int(c)
        case "LessThan": return .bool(c < 0)
        case "GreaterThan": return .bool(c > 0)
        default: return .bool(c == 0)
        }
    }

    func equals(_ other: any TemplateObject) -> Bool {
        (other as? SemverObject).map { $0.version.compare(version) == 0 && $0.version.metadata == version.metadata } ?? false
    }
}
