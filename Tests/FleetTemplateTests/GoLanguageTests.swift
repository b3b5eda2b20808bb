import FleetModel
import FleetTemplate
import Foundation
import Testing

/// The language rules the typed value model brings, one row each: Go's kinds, shared dicts, named
/// templates, literals and fmt verbs.
@Test(arguments: [
    // Named templates.
    GoCase(template: #"{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" .name }}"#, expected: "[prod-eu]"),
    GoCase(template: #"a({{ block "inner" .replicas }}{{ . }}{{ end }})b"#, expected: "a(3)b"),
    GoCase(template: #"{{ define "x" }}{{ $ }}{{ end }}{{ template "x" }}"#, expected: "<no value>"),
    // Dicts are references: set/unset/merge change what they are given.
    GoCase(template: #"{{ $d := dict "a" 1 }}{{ $_ := set $d "b" 2 }}{{ $_ := unset $d "a" }}{{ $d }}"#, expected: "map[b:2]"),
    GoCase(template: #"{{ $d := dict "a" 1 }}{{ $_ := merge $d (dict "a" 9 "c" 3) }}{{ toJson $d }}"#, expected: #"{"a":1,"c":3}"#),
    GoCase(template: #"{{ $_ := set .metadata.labels "team" "x" }}{{ .metadata.labels.team }}"#, expected: "x"),
    // Kinds: Sprig's integer math is int64, printf knows it.
    GoCase(template: "{{ add 1 2 | typeOf }}", expected: "int64"),
    GoCase(template: #"{{ printf "%T %T %T %T" 1 1.5 "s" .tags }}"#, expected: "int float64 string []interface {}"),
    GoCase(template: #"{{ printf "%04x|%-4d|%+.2f|%q|%v" 127 7 3.14159 "a\"b" .tags }}"#, expected: #"007f|7   |+3.14|"a\"b"|[b a]"#),
    GoCase(template: #"{{ printf "%d %s" "x" 1 }}"#, expected: "%!d(string=x) %!s(int=1)"),
    // Literals as Go reads them.
    GoCase(template: "{{ print 0x1F 0o17 0b101 017 1_000 1e3 'a' }}", expected: "31 15 5 15 1000 1000 97"),
    GoCase(template: "{{ print 1+2i }}", expected: "(1+2i)"),
    // Comparisons between kinds.
    GoCase(template: "{{ eq 1 (int64 1) }} {{ lt 1 2 }} {{ eq .name \"prod-eu\" }}", expected: "true true true"),
    // and/or stop at the deciding value.
    GoCase(template: "{{ or .empty .name }} {{ and .enabled .replicas }}", expected: "prod-eu 3"),
    // Range over an integer, range with assignment.
    GoCase(template: "{{ range 3 }}{{ . }}{{ end }}", expected: "012"),
    GoCase(template: "{{ $last := 0 }}{{ range $last = .tags }}{{ end }}{{ $last }}", expected: "a"),
    // Semantic versions.
    GoCase(template: #"{{ semverCompare "^1.2.0" "1.4.3" }} {{ semverCompare ">=1.20-0" "1.19.4" }} {{ (semver "1.2.3-rc.1").Prerelease }}"#, expected: "true false rc.1"),
    // Paths, URLs, encodings.
    GoCase(template: #"{{ base .path.path }} {{ dir .path.path }} {{ ext "a/b.yaml" }}"#, expected: "web teams/a .yaml"),
    GoCase(template: #"{{ (urlParse "https://u@h:8443/p?q=1#f").hostname }}"#, expected: "h"),
    GoCase(template: #"{{ "abc" | sha1sum }} {{ b32enc "hi" }}"#, expected: "a9993e364706816aba3e25717850c26c9cd0d89d NBUQ===="),
    GoCase(template: #"{{ toDate "2006-01-02" "2024-02-29" | date "Jan 2, 2006" }}"#, expected: "Feb 29, 2024"),
    // What Go's parser accepts beyond its documentation: a trailing '|' ends the pipeline, in parentheses too.
    GoCase(template: #"{{ "a" | upper | }}"#, expected: "A"),
    GoCase(template: #"{{ $x := "b" | upper | }}{{ $x }}"#, expected: "B"),
    GoCase(template: #"{{ print ("c" | upper |) }}"#, expected: "C"),
])
func goLanguage(_ c: GoCase) throws {
    #expect(try GoTemplate(c.template, options: c.options).render(data) == c.expected)
}

@Test(arguments: [
    GoErrorCase(template: "{{ nil }}", error: "nil is not a command"),
    // Only a trailing '|' is lenient: an empty command before one is not.
    GoErrorCase(template: #"{{ "a" | | upper }}"#, error: "missing command before '|'"),
    GoErrorCase(template: #"{{ | upper }}"#, error: "missing command before '|'"),
    GoErrorCase(template: "{{ eq 2 2.0 }}", error: "incompatible types for comparison"),
    GoErrorCase(template: "{{ lt true false }}", error: "invalid type for comparison"),
    GoErrorCase(template: #"{{ upper 1 }}"#, error: "expected string; found 1"),
    GoErrorCase(template: #"{{ .replicas | upper }}"#, error: "wrong type for value; expected string; got int"),
    GoErrorCase(template: #"{{ repeat 1.5 "x" }}"#, error: "expected integer; found 1.5"),
    GoErrorCase(template: #"{{ template "nope" }}"#, error: "no such template \"nope\""),
    GoErrorCase(template: #"{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}"#, error: "exceeded maximum template depth"),
    GoErrorCase(template: "{{ print 0x8000000000000000 }}", error: "overflows int"),
    GoErrorCase(template: "{{ index .tags 5 }}", error: "index out of range: 5"),
    GoErrorCase(template: #"{{ first "abc" }}"#, error: "Cannot find first on type string"),
    GoErrorCase(template: #"{{ fromYaml "a: [" }}"#, error: "error unmarshaling YAML"),
    GoErrorCase(template: #"{{ env "HOME" }}"#, error: #"function "env" not defined"#),
    GoErrorCase(template: #"{{ genPrivateKey "rsa" }}"#, error: "genPrivateKey is not supported"),
])
func goLanguageErrors(_ c: GoErrorCase) {
    do {
        let out = try GoTemplate(c.template, name: "t", options: c.options).render(data)
        Issue.record("expected an error containing \(c.error), got \(out)")
    } catch {
        #expect("\(error)".contains(c.error), "\(error)")
    }
}

@Test func semverConstraintsFollowMasterminds() throws {
    let table: [(String, String, Bool)] = [
        ("^1.2.3", "1.9.0", true), ("^1.2.3", "2.0.0", false), ("^0.2.3", "0.2.9", true), ("^0.2.3", "0.3.0", false),
        ("~1.2.3", "1.2.9", true), ("~1.2.3", "1.3.0", false), ("1.2.x", "1.2.7", true), ("1.2.x", "1.3.0", false),
        (">= 1.2, < 2", "1.5.0", true), (">= 1.2, < 2", "2.0.0", false), ("1.2 - 1.4.5", "1.4.5", true), ("1.2 - 1.4.5", "1.4.6", false),
        ("<1.0 || >=3", "3.1.0", true), ("<1.0 || >=3", "2.0.0", false), ("*", "4.5.6", true), (">=1.0.0", "1.1.0-beta", false),
        (">=1.0.0-0", "1.1.0-beta", true), ("!=1.2.3", "1.2.3", false), ("=1.2", "1.2.9", true),
    ]
    for (constraint, version, expected) in table {
        let c = try SemverConstraints(constraint)
        #expect(c.isSatisfied(by: SemanticVersion(version)!) == expected, "\(constraint) on \(version)")
    }
    #expect(SemanticVersion("v1.2")?.description == "1.2.0")
    #expect(SemanticVersion("1.2.3-beta.2")! < SemanticVersion("1.2.3-beta.10")!)
    #expect(SemanticVersion("not.a.version") == nil)
    #expect(throws: SemverError.self) { try SemverConstraints(">>1") }
}

/// Helm's family on the same engine: include, tpl, required, lookup, and conversions that return errors as values.
@Test(arguments: [
    (#"{{ define "lbl" }}app: {{ .name }}{{ end }}{{ include "lbl" . | upper }}"#, "APP: PROD-EU"),
    (#"{{ tpl "{{ .name }}-{{ .replicas }}" . }}"#, "prod-eu-3"),
    (#"{{ tpl "{{ define \"t\" }}x{{ end }}{{ include \"t\" . }}" . }}"#, "x"),
    (#"{{ required "needs a name" .name }}"#, "prod-eu"),
    (#"{{ lookup "v1" "Secret" "ns" "s" | len }}"#, "0"),
    (#"{{ (fromYaml "a: [").Error | empty | not }}"#, "true"),
    (#"{{ toYaml (dict "b" 1 "a" (list 1 2)) }}"#, "a:\n- 1\n- 2\nb: 1"),
])
func helmFunctions(_ template: String, _ expected: String) throws {
    #expect(try GoTemplate(template, functions: .helm).render(data) == expected)
}

@Test func helmFunctionErrors() {
    #expect { try GoTemplate(#"{{ required "values.image is required" .image }}"#, functions: .helm).render(data) } throws: {
        "\($0)".contains("values.image is required")
    }
    #expect { try GoTemplate(#"{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}"#, functions: .helm).render(data) } throws: {
        "\($0)".contains("exceeded maximum template depth")
    }
    // Argo CD's table has none of Helm's own functions.
    #expect(throws: TemplateError.self) { try GoTemplate(#"{{ include "x" . }}"#) }
}

/// Named templates nested to the depth limit render on a Dispatch worker thread (the hub's generation and
/// API threads) without exhausting its stack; one level more is refused with the limit's name.
@Test func deepTemplateCallsFitADispatchThread() throws {
    let limits = TemplateLimits.default
    let recursive = #"{{ define "r" }}{{ if lt . 1 }}x{{ else }}{{ template "r" (sub . 1) }}{{ end }}{{ end }}{{ template "r" .n }}"#
    let t = try GoTemplate(recursive)
    let group = DispatchGroup()
    let result = LockedBox<Result<String, any Error>?>(nil)
    group.enter()
    DispatchQueue.global().async {
        result.set(Result { try t.render(.object([("n", .int(limits.maxDepth - 2))])) })
        group.leave()
    }
    group.wait()
    #expect(try result.get()?.get() == "x")
    #expect { try t.render(.object([("n", .int(limits.maxDepth + 5))])) } throws: { "\($0)".contains("maxDepth") }
}

final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ value: T) { self.value = value }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
}
