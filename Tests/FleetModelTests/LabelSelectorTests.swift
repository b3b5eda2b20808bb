import FleetModel
import Testing

struct SelectorCase: Sendable, CustomTestStringConvertible {
    let text: String
    let canonical: String?  // the parsed selector printed back; nil when an error is expected
    let error: String?
    var testDescription: String { "'\(text)'" }
}

/// The kubectl `-l` syntax parses into requirements, and bad input names the column.
@Test(arguments: [
    SelectorCase(text: "", canonical: "", error: nil),
    SelectorCase(text: "env=prod", canonical: "env=prod", error: nil),
    SelectorCase(text: "env==prod", canonical: "env=prod", error: nil),
    SelectorCase(text: "env!=prod", canonical: "env!=prod", error: nil),
    SelectorCase(text: "env=prod,region in (eu,us),!canary", canonical: "env=prod,region in (eu,us),!canary", error: nil),
    SelectorCase(text: " region notin ( eu , us ) ", canonical: "region notin (eu,us)", error: nil),
    SelectorCase(text: "canary", canonical: "canary", error: nil),
    SelectorCase(text: "! canary", canonical: "!canary", error: nil),
    SelectorCase(text: "app.kubernetes.io/part-of=shop", canonical: "app.kubernetes.io/part-of=shop", error: nil),
    SelectorCase(text: "env=", canonical: "env=", error: nil),
    SelectorCase(text: "replicas>3", canonical: "replicas>3", error: nil),
    SelectorCase(text: "env in (prod", canonical: nil, error: "expected ')' to close the value list"),
    SelectorCase(text: "env=prod,", canonical: nil, error: "expected a requirement after ','"),
    SelectorCase(text: "env in prod", canonical: nil, error: "expected '(' after 'in'"),
    SelectorCase(text: "env is prod", canonical: nil, error: "unknown operator 'is'"),
    SelectorCase(text: "env=pr od", canonical: nil, error: "expected ',' or end of selector at column 8"),
    SelectorCase(text: "env in ()", canonical: nil, error: "values set can't be empty"),
    SelectorCase(text: "env=prod!", canonical: nil, error: "value 'prod!' must consist"),
    SelectorCase(text: "env!prod", canonical: nil, error: "expected '=' after '!'"),
    SelectorCase(text: "x>a", canonical: nil, error: "not an integer"),
    SelectorCase(text: "Bad Key=1", canonical: nil, error: "unknown operator 'Key'"),
    SelectorCase(text: "-bad=1", canonical: nil, error: "start and end with an alphanumeric"),
])
func parseSelector(_ c: SelectorCase) {
    do {
        let selector = try LabelSelector(parsing: c.text)
        #expect(c.error == nil, "expected error containing \(c.error ?? "")")
        #expect(selector.description == c.canonical)
    } catch {
        guard let expected = c.error else {
            Issue.record("unexpected error \(error)")
            return
        }
        #expect("\(error)".contains(expected), "got \(error)")
    }
}

struct MatchCase: Sendable {
    let selector: String
    let labels: [String: String]
    let matches: Bool
}

/// Kubernetes semantics: `!=` and `notin` match a missing key; `in` and `=` do not.
@Test(arguments: [
    MatchCase(selector: "", labels: [:], matches: true),
    MatchCase(selector: "env=prod", labels: ["env": "prod"], matches: true),
    MatchCase(selector: "env=prod", labels: ["env": "dev"], matches: false),
    MatchCase(selector: "env=prod", labels: [:], matches: false),
    MatchCase(selector: "env!=prod", labels: [:], matches: true),
    MatchCase(selector: "env!=prod", labels: ["env": "prod"], matches: false),
    MatchCase(selector: "region in (eu,us)", labels: ["region": "us"], matches: true),
    MatchCase(selector: "region in (eu,us)", labels: ["region": "ap"], matches: false),
    MatchCase(selector: "region notin (eu,us)", labels: [:], matches: true),
    MatchCase(selector: "region notin (eu,us)", labels: ["region": "eu"], matches: false),
    MatchCase(selector: "canary", labels: ["canary": ""], matches: true),
    MatchCase(selector: "!canary", labels: ["canary": "true"], matches: false),
    MatchCase(selector: "env=prod,!canary", labels: ["env": "prod"], matches: true),
    MatchCase(selector: "env=prod,!canary", labels: ["env": "prod", "canary": "1"], matches: false),
    MatchCase(selector: "size>3", labels: ["size": "10"], matches: true),
    MatchCase(selector: "size<3", labels: ["size": "abc"], matches: false),
])
func matchSelector(_ c: MatchCase) throws {
    #expect(try LabelSelector(parsing: c.selector).matches(c.labels) == c.matches)
}

/// matchLabels and matchExpressions follow metav1.LabelSelectorAsSelector, reporting each bad part.
@Test func matchExpressions() throws {
    let selector = try LabelSelector(
        matchLabels: ["env": "prod"],
        matchExpressions: [.init(key: "region", operator: "In", values: ["eu", "us"]),
                           .init(key: "canary", operator: "DoesNotExist")])
    #expect(selector.matches(["env": "prod", "region": "eu"]))
    #expect(!selector.matches(["env": "prod", "region": "eu", "canary": "x"]))
    #expect(!selector.matches(["env": "prod"]))

    #expect {
        try LabelSelector(matchLabels: [:], matchExpressions: [
            .init(key: "a", operator: "Exists", values: ["x"]),
            .init(key: "b", operator: "In"),
            .init(key: "c", operator: "Equals", values: ["x"]),
        ], field: "spec.generators[0].clusters.selector")
    } throws: { error in
        let text = "\(error)"
        return text.contains("spec.generators[0].clusters.selector.matchExpressions[0].values: values set must be empty for exists and does not exist")
            && text.contains("matchExpressions[1].values: for 'in', 'notin' operators, values set can't be empty")
            && text.contains("matchExpressions[2].operator: 'Equals' is not a valid label selector operator")
    }
}
