import FleetTemplate
import Testing

struct FastCase: Sendable, CustomTestStringConvertible {
    let template: String
    let expected: String
    var testDescription: String { template }
}

private let params = ["name": "prod-eu", "path.basename": "web", "path[0]": "apps", "metadata.labels.env": "prod", "empty": ""]

/// fasttemplate replaces known keys, trims tag whitespace, and leaves unknown tags exactly as written.
@Test(arguments: [
    FastCase(template: "{{name}}", expected: "prod-eu"),
    FastCase(template: "{{ name }}-{{path.basename}}", expected: "prod-eu-web"),
    FastCase(template: "{{path[0]}}/{{metadata.labels.env}}", expected: "apps/prod"),
    FastCase(template: "x{{empty}}y", expected: "xy"),
    FastCase(template: "{{ unknown }}", expected: "{{ unknown }}"),
    FastCase(template: "{{Name}}", expected: "{{Name}}"),
    FastCase(template: "{{}} and {{ }}", expected: "{{}} and {{ }}"),
    FastCase(template: "no tags at all", expected: "no tags at all"),
    FastCase(template: "}} {{name}} }}", expected: "}} prod-eu }}"),
])
func fastTemplate(_ c: FastCase) throws {
    #expect(try FastTemplate(c.template).render(params) == c.expected)
}

/// Substituted values are not rendered again (single pass).
@Test func fastTemplateSinglePass() throws {
    #expect(try FastTemplate("{{a}}").render(["a": "{{b}}", "b": "no"]) == "{{b}}")
}

/// An unclosed tag is an error quoting the template.
@Test func fastTemplateUnclosed() {
    #expect { try FastTemplate("{{name") } throws: { "\($0)".contains("cannot find end tag=\"}}\"") }
}

/// normalize follows Argo CD's SanitizeName; slugify collapses runs.
@Test(arguments: [
    ("app_3", "app-3"), ("production_01/west", "production-01-west"), ("My__App", "my--app"),
    ("-a.b-", "a.b"), ("UPPER.case", "upper.case"), ("ümlaut", "-mlaut"),
] as [(String, String)])
func normalize(_ input: String, _ expected: String) {
    #expect(normalizeName(input) == expected.trimmingPrefixDashes())
}

extension String {
    fileprivate func trimmingPrefixDashes() -> String { String(drop { $0 == "-" }) }
}

@Test func slugifyCollapses() {
    #expect(slugify("Hello, World! 2024") == "hello-world-2024")
    #expect(slugify("a very long name that goes on", maxSize: 12) == "a-very-long")
}
