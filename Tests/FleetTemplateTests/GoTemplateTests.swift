import FleetModel
import FleetTemplate
import Testing

struct GoCase: Sendable, CustomTestStringConvertible {
    let template: String
    let expected: String
    var options: GoTemplate.Options = []
    var testDescription: String { template }
}

/// Params as the git directory and cluster generators produce them in Go-template mode.
let data: JSONValue = .object([
    ("name", .string("prod-eu")),
    ("server", .string("https://10.0.0.1")),
    ("path", .object([
        ("path", .string("teams/a/web")), ("basename", .string("web")), ("basenameNormalized", .string("web")),
        ("segments", .array([.string("teams"), .string("a"), .string("web")])),
    ])),
    ("metadata", .object([("labels", .object([("env", .string("prod")), ("app.kubernetes.io/part-of", .string("shop"))]))])),
    ("replicas", .int(3)), ("big", .int(1_000_000)), ("ratio", .double(0.5)), ("enabled", .bool(true)),
    ("tags", .array([.string("b"), .string("a")])), ("empty", .string("")), ("nothing", .null),
])

/// Go text/template behaviour, as Argo CD ApplicationSets use it.
@Test(arguments: [
    GoCase(template: "{{.path.basename}}", expected: "web"),
    GoCase(template: "{{ index .path.segments 1 }}", expected: "a"),
    GoCase(template: "{{.name}}-{{.path.basenameNormalized}}", expected: "prod-eu-web"),
    GoCase(template: #"{{ index .metadata.labels "app.kubernetes.io/part-of" }}"#, expected: "shop"),
    GoCase(template: "{{.replicas}} {{.big}} {{.ratio}} {{.enabled}}", expected: "3 1000000 0.5 true"),
    GoCase(template: "{{.missing}}", expected: "<no value>"),
    GoCase(template: "{{.nothing}}", expected: "<no value>"),  // a nil from the data prints as Go prints it
    GoCase(template: "{{.missing.deeper}}", expected: "<no value>"),  // a missing chain is no error without missingkey=error
    GoCase(template: "{{if eq .name \"prod-eu\"}}yes{{else}}no{{end}}", expected: "yes"),
    GoCase(template: "{{if .empty}}a{{else if .enabled}}b{{else}}c{{end}}", expected: "b"),
    GoCase(template: "{{range .tags}}[{{.}}]{{end}}", expected: "[b][a]"),
    GoCase(template: "{{range $i, $t := .tags}}{{$i}}={{$t}};{{end}}", expected: "0=b;1=a;"),
    GoCase(template: "{{range $k, $v := .metadata.labels}}{{$k}}:{{$v}},{{end}}", expected: "app.kubernetes.io/part-of:shop,env:prod,"),
    GoCase(template: "{{range .missing}}x{{else}}none{{end}}", expected: "none"),
    GoCase(template: "{{with .path}}{{.basename}}{{end}}", expected: "web"),
    GoCase(template: "{{$n := .name}}{{range .tags}}{{$n}}{{end}}", expected: "prod-euprod-eu"),
    GoCase(template: "{{ .name | upper }}", expected: "PROD-EU"),
    GoCase(template: "{{ .name | trunc 4 | upper }}", expected: "PROD"),
    GoCase(template: #"{{ .missing | default "fallback" }}"#, expected: "fallback"),
    GoCase(template: #"{{ .name | replace "-" "_" }}"#, expected: "prod_eu"),
    GoCase(template: #"{{ "My_App" | normalize }}"#, expected: "my-app"),
    GoCase(template: "{{ .tags | join \",\" }}", expected: "b,a"),
    GoCase(template: "{{ splitList \"/\" .path.path | last }}", expected: "web"),
    GoCase(template: "{{ .name | quote }}", expected: "\"prod-eu\""),
    GoCase(template: "{{ .tags | toJson }}", expected: #"["b","a"]"#),
    GoCase(template: "{{ .metadata | toJson }}", expected: #"{"labels":{"app.kubernetes.io/part-of":"shop","env":"prod"}}"#),
    GoCase(template: "{{ printf \"%s-%03d\" .name .replicas }}", expected: "prod-eu-003"),
    GoCase(template: "{{ add .replicas 2 }} {{ mul 2 3 }} {{ sub 5 7 }}", expected: "5 6 -2"),
    GoCase(template: "{{ len .tags }} {{ len .name }}", expected: "2 7"),
    GoCase(template: "{{ trim \"  x \" }}|{{ trimPrefix \"teams/\" .path.path }}", expected: "x|a/web"),
    GoCase(template: #"{{ dig "labels" "env" "none" .metadata }}"#, expected: "prod"),
    GoCase(template: #"{{ dig "labels" "zone" "none" .metadata }}"#, expected: "none"),
    GoCase(template: "{{- \"a\" -}}  \n  {{- \"b\" }}", expected: "ab"),
    GoCase(template: "x {{/* a comment */}} y", expected: "x  y"),
    GoCase(template: "{{ (index .path.segments 0) | upper }}", expected: "TEAMS"),
    GoCase(template: "{{ if and .enabled (gt .replicas 2) }}big{{ end }}", expected: "big"),
    GoCase(template: "{{ ternary \"on\" \"off\" .enabled }}", expected: "on"),
    GoCase(template: "{{ toYaml .metadata.labels }}", expected: "app.kubernetes.io/part-of: shop\nenv: prod"),
    GoCase(template: #"{{ (fromYaml "a: 1").a }}"#, expected: "1"),
    GoCase(template: "{{ range until 3 }}{{.}}{{ end }}", expected: "012"),
    GoCase(template: "{{ range .tags }}{{ if eq . \"a\" }}{{ break }}{{ end }}{{ . }}{{ end }}", expected: "b"),
    GoCase(template: #"{{ regexReplaceAll "([a-z]+)-([a-z]+)" .name "${2}-${1}" }}"#, expected: "eu-prod"),
    GoCase(template: #"{{ sha256sum "abc" }}"#, expected: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    GoCase(template: "{{ .path.segments }} {{ .metadata.labels }}", expected: "[teams a web] map[app.kubernetes.io/part-of:shop env:prod]"),
    GoCase(template: "{{ 1.5 }} {{ 1e6 }} {{ 0.00001 }}", expected: "1.5 1e+06 1e-05"),
])
func goTemplate(_ c: GoCase) throws {
    #expect(try GoTemplate(c.template, options: c.options).render(data) == c.expected)
}

struct GoErrorCase: Sendable, CustomTestStringConvertible {
    let template: String
    let error: String
    var options: GoTemplate.Options = []
    var testDescription: String { template }
}

/// Errors keep Go's phrasing: missing keys under missingkey=error, unknown functions, nil pointers, syntax.
@Test(arguments: [
    GoErrorCase(template: "{{.missing}}", error: #"map has no entry for key "missing""#, options: .missingKeyError),
    GoErrorCase(template: "{{.path.nope}}", error: #"map has no entry for key "nope""#, options: .missingKeyError),
    GoErrorCase(template: "{{.nothing.deeper}}", error: "nil pointer evaluating interface {}.deeper"),
    GoErrorCase(template: "{{ nosuchfunc .name }}", error: #"function "nosuchfunc" not defined"#),
    GoErrorCase(template: "{{ .name ", error: "unclosed action"),
    GoErrorCase(template: "{{ if .name }}x", error: "missing {{end}}"),
    GoErrorCase(template: "{{ end }}", error: "unexpected {{end}}"),
    GoErrorCase(template: "{{ .name.first }}", error: "can't evaluate field first in type string"),
    GoErrorCase(template: "{{ index .tags 5 }}", error: "index out of range: 5"),
    GoErrorCase(template: "{{ $x }}", error: "undefined variable \"$x\""),
    GoErrorCase(template: #"{{ fail "stop here" }}"#, error: "stop here"),
])
func goTemplateErrors(_ c: GoErrorCase) {
    do {
        _ = try GoTemplate(c.template, name: "t", options: c.options).render(data)
        Issue.record("expected an error containing \(c.error)")
    } catch {
        #expect("\(error)".contains(c.error), "got \(error)")
    }
}

/// goTemplateOptions parse; unknown options are named.
@Test func goTemplateOptions() throws {
    #expect(try GoTemplate.Options(goTemplateOptions: ["missingkey=error"]) == .missingKeyError)
    #expect { try GoTemplate.Options(goTemplateOptions: ["missingkey=explode"]) } throws: { "\($0)".contains("missingkey=explode") }
}
