import FleetConfig
import FleetHelm
import FleetModel
import Foundation
import Testing

/// A chart from (path, text) pairs.
func chart(_ files: [(String, String)], origin: String = "c") throws -> Chart {
    var map: [String: [UInt8]] = [:]
    for (p, t) in files { map[p] = Array(t.utf8) }
    return try ChartLoader.load(files: map, origin: origin)
}

func render(_ c: Chart, _ options: HelmRenderOptions = HelmRenderOptions()) throws -> [JSONValue] {
    try HelmRenderer.render(c, options: options).manifests.map(\.object)
}

let chartYAML = ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.2.3\nappVersion: \"4.5\"\n")

@Suite struct SetValuesTests {
    @Test(arguments: [
        ("a=b", #"{"a":"b"}"#),
        ("a.b=1,c=true", #"{"a":{"b":1},"c":true}"#),
        ("a=0,b=012,c=3.14,d=null", #"{"a":0,"b":"012","c":"3.14","d":null}"#),
        ("list={x,2,false}", #"{"list":["x",2,false]}"#),
        ("a[1].name=z", #"{"a":[null,{"name":"z"}]}"#),
        (#"path=a\,b,dots\.key=v"#, #"{"dots.key":"v","path":"a,b"}"#),
        ("empty=", #"{"empty":""}"#),
    ])
    func parses(_ expression: String, _ json: String) throws {
        var values: [String: HelmValue] = [:]
        try SetValues.apply(expression, to: &values)
        #expect(HelmValue.map(values).json.serialized(pretty: false) == json)
    }

    @Test func setStringKeepsText() throws {
        var values: [String: HelmValue] = [:]
        try SetValues.apply("port=80,on=true", to: &values, asString: true)
        #expect(values["port"] == .string("80"))
        #expect(values["on"] == .string("true"))
    }

    @Test(arguments: [
        (#"a={"b":[1,"x",null]},c=true"#, #"{"a":{"b":[1,"x",null]},"c":true}"#),
        (#"a.b="x,y",c[1]=2.5"#, #"{"a":{"b":"x,y"},"c":[null,2.5]}"#),
        (#"empty=,after=1"#, #"{"after":1,"empty":null}"#),
        (#" {"top": {"k": "v"}, "n": 1} "#, #"{"n":1,"top":{"k":"v"}}"#),
        (#"s="a\"b,c""#, #"{"s":"a\"b,c"}"#),
    ])
    func setJSON(_ expression: String, _ json: String) throws {
        var values: [String: HelmValue] = [:]
        try SetValues.applyJSON(expression, to: &values)
        #expect(HelmValue.map(values).json.serialized(pretty: false) == json)
    }

    @Test func setJSONNumbersAreGoFloats() throws {
        var values: [String: HelmValue] = [:]
        try SetValues.applyJSON("n=1000000", to: &values)
        #expect(values["n"] == .float(1_000_000))
    }

    @Test(arguments: ["a=[1", "a={", "a=nope", "=1", #"{"a": "#])
    func setJSONRefusesBadJSON(_ expression: String) {
        var values: [String: HelmValue] = [:]
        #expect(throws: HelmError.self) { try SetValues.applyJSON(expression, to: &values) }
    }

    @Test(arguments: [
        ("a.b=x,y={z}", #"{"a":{"b":"x,y={z}"}}"#),
        (#"k=\n=true"#, #"{"k":"\\n=true"}"#),
        ("l[1]=007", #"{"l":[null,"007"]}"#),
    ])
    func setLiteral(_ expression: String, _ json: String) throws {
        var values: [String: HelmValue] = [:]
        try SetValues.applyLiteral(expression, to: &values)
        #expect(HelmValue.map(values).json.serialized(pretty: false) == json)
    }

    @Test func valuesApplyInHelmsOrder() throws {
        let c = try chart([chartYAML, ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: {{ .Values.a | quote }}, b: {{ .Values.b | quote }}, c: {{ .Values.c | quote }}}\n")])
        var options = HelmRenderOptions(valueFiles: [("f.yaml", "a: file\nb: file\nc: file\n")], set: ["b=set"], setString: ["c=string"])
        options.setJSON = [#"a="json",b="json",c="json""#]
        options.setLiteral = ["c=literal"]
        let data = try render(c, options).first?["data"]
        #expect(data?["a"] == "json" && data?["b"] == "set" && data?["c"] == "literal")
    }

    @Test(arguments: ["a", "a[x]=1", "l={1,2"])
    func refusesBadExpressions(_ expression: String) {
        var values: [String: HelmValue] = [:]
        #expect(throws: HelmError.self) { try SetValues.apply(expression, to: &values) }
    }
}

@Suite struct CoalesceTests {
    @Test func userValuesWinAndNullDeletes() throws {
        let c = try chart([chartYAML, ("values.yaml", "a: 1\nb: {x: 1, y: 2}\nc: keep\n")])
        var user: [String: HelmValue] = [:]
        try SetValues.apply("b.x=9,c=null", to: &user)
        let v = HelmValue.map(Coalesce.values(c, user: user)).json
        #expect(v.serialized(pretty: false) == #"{"a":1,"b":{"x":9,"y":2}}"#)
    }

    @Test func globalsFlowDownAndParentWins() throws {
        let c = try chart([
            ("Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: '>=0.1.0'\n"),
            ("values.yaml", "global: {region: eu}\nsub: {replicas: 3}\n"),
            ("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
            ("charts/sub/values.yaml", "global: {region: us, tier: web}\nreplicas: 1\nimage: nginx\n"),
        ])
        let v = HelmValue.map(Coalesce.values(c, user: [:]))
        #expect(v.value(at: ["sub", "global", "region"]) == .string("eu"))
        #expect(v.value(at: ["sub", "global", "tier"]) == .string("web"))
        #expect(v.value(at: ["sub", "replicas"]) == .float(3))
        #expect(v.value(at: ["sub", "image"]) == .string("nginx"))
    }
}

@Suite struct DependencyTests {
    func umbrella(_ values: String) throws -> Chart {
        try chart([
            ("Chart.yaml", """
            apiVersion: v2
            name: top
            version: 1.0.0
            dependencies:
            - name: db
              version: 1.x
              condition: db.enabled
              tags: [storage]
            - name: db
              alias: cache
              version: 1.x
              condition: cache.enabled
              import-values:
              - child: info
                parent: cacheInfo
            """),
            ("values.yaml", values),
            ("templates/out.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: top}\ndata:\n  cacheInfo: {{ with .Values.cacheInfo }}{{ .port | quote }}{{ end }}\n"),
            ("charts/db/Chart.yaml", "apiVersion: v2\nname: db\nversion: 1.4.0\n"),
            ("charts/db/values.yaml", "info: {port: 5432}\n"),
            ("charts/db/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Chart.Name }}}\n"),
        ])
    }

    func names(_ values: String) throws -> [String] {
        try render(umbrella(values)).compactMap { $0.value(at: ["metadata", "name"])?.stringValue }.sorted()
    }

    @Test func conditionsTagsAndAliases() throws {
        #expect(try names("db: {enabled: true}\ncache: {enabled: true}\n") == ["cache", "db", "top"])
        #expect(try names("db: {enabled: false}\ncache: {enabled: true}\n") == ["cache", "top"])
        // A tag turns a dependency off when no condition decides.
        #expect(try names("tags: {storage: false}\ncache: {enabled: false}\n") == ["top"])
        // The condition wins over tags.
        #expect(try names("tags: {storage: false}\ndb: {enabled: true}\ncache: {enabled: false}\n") == ["db", "top"])
    }

    @Test func importValuesFromAliasedChild() throws {
        let objects = try render(umbrella("cache: {enabled: true}\ndb: {enabled: false}\n"))
        let top = objects.first { $0.value(at: ["metadata", "name"])?.stringValue == "top" }
        #expect(top?.value(at: ["data", "cacheInfo"])?.stringValue == "5432")
    }

    @Test func missingDependencyIsAnError() throws {
        let c = try chart([("Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- name: redis\n  version: 1.0.0\n")])
        #expect(throws: HelmError(.missingDependency, "found in Chart.yaml, but missing in charts/ directory: redis")) { try render(c) }
    }
}

@Suite struct RendererTests {
    @Test func builtInObjects() throws {
        let c = try chart([chartYAML, ("values.yaml", "replicas: 1000000\n"), ("files/a.conf", "x=1\n"),
                           ("templates/cm.yaml", """
                           apiVersion: v1
                           kind: ConfigMap
                           metadata:
                             name: {{ .Release.Name }}-{{ .Chart.Name }}
                             namespace: {{ .Release.Namespace }}
                           data:
                             chart: {{ .Chart.Version }}/{{ .Chart.AppVersion }}
                             kube: {{ .Capabilities.KubeVersion.Version }}
                             hasApps: {{ .Capabilities.APIVersions.Has "apps/v1" | quote }}
                             hasCustom: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}
                             template: {{ .Template.Name }}
                             replicas: {{ .Values.replicas | quote }}
                             file: {{ .Files.Get "files/a.conf" | trim | quote }}
                             missing: "{{ .Values.nothing }}"
                           {{ (.Files.Glob "files/*").AsConfig | indent 2 }}

                           """)])
        let out = try render(c, HelmRenderOptions(releaseName: "r1", namespace: "team", kubeVersion: "v1.29.3", apiVersions: ["example.com/v1"]))
        #expect(out.count == 1)
        let cm = out[0]
        #expect(cm.value(at: ["metadata", "name"])?.stringValue == "r1-app")
        #expect(cm.value(at: ["metadata", "namespace"])?.stringValue == "team")
        #expect(cm.value(at: ["data", "chart"])?.stringValue == "1.2.3/4.5")
        #expect(cm.value(at: ["data", "kube"])?.stringValue == "v1.29.3")
        #expect(cm.value(at: ["data", "hasApps"])?.stringValue == "true")
        #expect(cm.value(at: ["data", "hasCustom"])?.stringValue == "true")
        #expect(cm.value(at: ["data", "template"])?.stringValue == "app/templates/cm.yaml")
        // Values-file numbers are float64, as helm decodes them.
        #expect(cm.value(at: ["data", "replicas"])?.stringValue == "1e+06")
        #expect(cm.value(at: ["data", "file"])?.stringValue == "x=1")
        #expect(cm.value(at: ["data", "missing"])?.stringValue == "")
        #expect(cm.value(at: ["data", "a.conf"])?.stringValue == "x=1\n")
    }

    @Test func nilPointerOnMissingParentAsHelm() throws {
        let c = try chart([chartYAML, ("templates/x.yaml", "a: {{ .Values.image.tag }}\n")])
        #expect {
            try render(c)
        } throws: { error in
            (error as? HelmError)?.message.contains("nil pointer evaluating interface {}.tag") == true
                && (error as? HelmError)?.message.contains("app/templates/x.yaml") == true
        }
    }

    @Test func requiredAndFailReadAsHelm() throws {
        let c = try chart([chartYAML, ("templates/x.yaml", "a: 1\nb: {{ required \"image.tag is required\" .Values.tag }}\n")])
        #expect(throws: HelmError(.template, "execution error at (app/templates/x.yaml:2): image.tag is required")) { try render(c) }
    }

    @Test func partialsHelpersAndParentOverride() throws {
        let c = try chart([
            ("Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\n"),
            ("templates/_helpers.tpl", #"{{- define "name" -}}top-{{ .Chart.Name }}{{- end -}}"#),
            ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"name\" . }}\ndata:\n  t: {{ tpl \"{{ .Release.Name }}-x\" . }}\n"),
            ("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
            ("charts/sub/templates/_helpers.tpl", #"{{- define "name" -}}sub-{{ .Chart.Name }}{{- end -}}"#),
            ("charts/sub/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"name\" . }}\n"),
        ])
        let names = try render(c).compactMap { $0.value(at: ["metadata", "name"])?.stringValue }.sorted()
        // The parent's definition wins for both charts, as in helm.
        #expect(names == ["top-sub", "top-top"])
        let t = try render(c).first { $0.value(at: ["metadata", "name"])?.stringValue == "top-top" }
        #expect(t?.value(at: ["data", "t"])?.stringValue == "release-name-x")
    }

    @Test func installOrderCRDsHooksAndTests() throws {
        let c = try chart([
            chartYAML,
            ("crds/crd.yaml", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n"),
            ("templates/a.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"),
            ("templates/b.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n"),
            ("templates/hook.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-install}\n"),
            ("templates/tests/t.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\n  annotations: {helm.sh/hook: test}\n"),
        ])
        let release = try HelmRenderer.render(c, options: HelmRenderOptions(includeCRDs: true))
        #expect(release.manifests.map { $0.object.value(at: ["metadata", "name"])?.stringValue ?? "" } == ["widgets.example.com", "ns", "sa", "d", "w", "t", "migrate"])
        #expect(release.manifests.map(\.role) == [.crd, .manifest, .manifest, .manifest, .manifest, .hook, .hook])
        let noTests = try HelmRenderer.render(c, options: HelmRenderOptions(skipTests: true))
        #expect(!noTests.manifests.contains { $0.path.contains("tests/") })
        let only = try HelmRenderer.render(c, options: HelmRenderOptions(showOnly: ["templates/b.yaml"]))
        #expect(only.manifests.map(\.kind) == ["Namespace", "ServiceAccount"])
        #expect(throws: HelmError(.template, "could not find template templates/none.yaml in chart")) {
            try HelmRenderer.render(c, options: HelmRenderOptions(showOnly: ["templates/none.yaml"]))
        }
    }

    @Test func schemaViolationsInHelmWords() throws {
        let c = try chart([chartYAML, ("values.yaml", "port: 80\nname: x\n"),
                           ("values.schema.json", #"{"type":"object","required":["name","owner"],"properties":{"port":{"type":"integer","maximum":65535},"name":{"type":"string","minLength":2}}}"#)])
        var options = HelmRenderOptions()
        options.set = ["port=70000"]
        #expect(throws: HelmError(.schema, """
        values don't meet the specifications of the schema(s) in the following chart(s):
        app:
        - at '': missing property 'owner'
        - at '/name': minLength: got 1, want 2
        - at '/port': maximum: got 70000, want 65535

        """)) { try render(c, options) }
    }

    @Test func libraryAndKubeVersionRefusals() throws {
        let lib = try chart([("Chart.yaml", "apiVersion: v2\nname: lib\nversion: 1.0.0\ntype: library\n")])
        #expect(throws: HelmError.self) { try render(lib) }
        #expect(throws: HelmError(.badChart, "validation: chart.metadata.type must be application or library")) {
            try chart([("Chart.yaml", "apiVersion: v2\nname: x\nversion: 1.0.0\ntype: Library\n")])
        }
        #expect(throws: HelmError(.badChart, "c: Chart.yaml file is missing")) { try chart([("values.yaml", "")]) }
        let needsNew = try chart([("Chart.yaml", "apiVersion: v2\nname: x\nversion: 1.0.0\nkubeVersion: '>=1.30.0-0'\n")])
        #expect(throws: HelmError(.kubeVersion, "chart requires kubeVersion: >=1.30.0-0 which is incompatible with Kubernetes v1.20.0")) {
            try render(needsNew, HelmRenderOptions(kubeVersion: "1.20.0"))
        }
    }

    @Test func helmignoreAndHiddenTemplates() throws {
        let c = try chart([chartYAML, (".helmignore", "*.bak\nsecret/\n"), ("templates/x.yaml.bak", "garbage: [\n"),
                           ("templates/.hidden.yaml", "garbage: [\n"), ("secret/key", "k"),
                           ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {n: {{ len (.Files.Glob \"**\") | quote }}, key: {{ .Files.Get \"secret/key\" | quote }}}\n")])
        let out = try render(c)
        #expect(out.count == 1)
        // Only .helmignore itself is left for .Files (helm keeps it too).
        #expect(out[0].value(at: ["data", "n"])?.stringValue == "1")
        #expect(out[0].value(at: ["data", "key"])?.stringValue == "")
    }

    @Test func archiveChartsLoad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("helm-tgz-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("mychart/templates"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "apiVersion: v2\nname: mychart\nversion: 0.3.0\n".write(to: dir.appendingPathComponent("mychart/Chart.yaml"), atomically: true, encoding: .utf8)
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Chart.Name }}-{{ .Chart.Version }}}\n"
            .write(to: dir.appendingPathComponent("mychart/templates/cm.yaml"), atomically: true, encoding: .utf8)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", dir.appendingPathComponent("mychart-0.3.0.tgz").path, "-C", dir.path, "mychart"]
        try tar.run()
        tar.waitUntilExit()
        let data = try Data(contentsOf: dir.appendingPathComponent("mychart-0.3.0.tgz"))
        let c = try ChartLoader.load(tgz: [UInt8](data), origin: "mychart-0.3.0.tgz")
        #expect(try render(c).first?.value(at: ["metadata", "name"])?.stringValue == "mychart-0.3.0")
        #expect(throws: HelmError.self) { try ChartLoader.load(tgz: Array(data.prefix(40)), origin: "cut.tgz") }
        #expect(throws: HelmError(.badArchive, "x.tgz: not a gzip-compressed chart archive")) { try ChartLoader.load(tgz: [1, 2, 3], origin: "x.tgz") }
    }
}

@Test func repoTreeFindsFilesByBinarySearch() {
    let tree = RepoTree(directories: ["a", "a/b"], files: ["a/b/Chart.yaml", "a/Chart.yaml", "z.yaml", "a-c/x.yaml"])
    #expect(tree.containsFile("a/Chart.yaml") && tree.containsFile("a/b/Chart.yaml") && tree.containsFile("z.yaml") && tree.containsFile("a-c/x.yaml"))
    #expect(!tree.containsFile("a/b") && !tree.containsFile("Chart.yaml") && !tree.containsFile("zz.yaml"))
}

/// Numbers in Chart.yaml read as Go writes them, large ones included (no integer overflow).
@Test func numericChartFieldsReadAsGo() throws {
    let c = try chart([("Chart.yaml", "apiVersion: v2\nname: n\nversion: 1.0.0\nappVersion: 1e20\ndescription: 2.50\n"),
                       ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n}\ndata: {app: {{ .Chart.AppVersion | quote }}, d: {{ .Chart.Description | quote }}}\n")])
    let cm = try #require(try render(c).first)
    #expect(cm.value(at: ["data", "app"])?.stringValue == "100000000000000000000")
    #expect(cm.value(at: ["data", "d"])?.stringValue == "2.5")
}

/// Helm's top-level objects beyond the values: `.Subcharts` (each subchart's objects by name or alias, nested),
/// the methods of `chartutil.Values` on every chart's `.Values`, and `.Chart.IsRoot`.
@Suite struct TopLevelObjectTests {
    func composed(_ template: String, values: String = "") throws -> [String: String] {
        let c = try chart([
            ("Chart.yaml", """
            apiVersion: v2
            name: top
            version: 1.0.0
            dependencies:
            - {name: sub, version: 0.1.0, alias: feature}
            """),
            ("values.yaml", "feature: {replicas: 2, image: {tag: v1}}\nname: top\n" + values),
            ("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: top}\ndata:\n" + template),
            ("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\ndependencies:\n- {name: leaf, version: 0.0.1}\n"),
            ("charts/sub/values.yaml", "replicas: 1\nleaf: {color: blue}\n"),
            ("charts/sub/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub}\ndata: {root: '{{ .Chart.IsRoot }}', yaml: {{ .Values.YAML | quote }}}\n"),
            ("charts/sub/charts/leaf/Chart.yaml", "apiVersion: v2\nname: leaf\nversion: 0.0.1\n"),
        ])
        var out: [String: String] = [:]
        for object in try render(c) {
            guard let name = object.value(at: ["metadata", "name"])?.stringValue else { continue }
            for (k, v) in object["data"]?.objectValue ?? [] { out["\(name).\(k)"] = v.stringValue }
        }
        return out
    }

    @Test func subchartsHoldEachSubchartsObjects() throws {
        let out = try composed("""
              replicas: {{ .Subcharts.feature.Values.replicas | quote }}
              chart: {{ .Subcharts.feature.Chart.Name }}
              root: {{ .Chart.IsRoot | quote }}
              subRoot: {{ .Subcharts.feature.Chart.IsRoot | quote }}
              leaf: {{ .Subcharts.feature.Subcharts.leaf.Values.color }}
              release: {{ .Subcharts.feature.Release.Name }}
              keys: {{ keys .Subcharts | sortAlpha | join "," }}
              subKeys: {{ keys .Subcharts.feature | sortAlpha | join "," }}
              subTemplate: {{ .Subcharts.feature.Template.Name }}
            """)
        #expect(out["top.replicas"] == "2", "parent values reach the subchart (aliased) and are seen through .Subcharts")
        #expect(out["top.chart"] == "feature")
        #expect(out["top.root"] == "true" && out["top.subRoot"] == "false" && out["sub.root"] == "false")
        #expect(out["top.leaf"] == "blue")
        #expect(out["top.release"] == "release-name")
        #expect(out["top.keys"] == "feature")
        #expect(out["top.subKeys"] == "Capabilities,Chart,Files,Release,Subcharts,Template,Values")
        // Helm renders subcharts' templates first and sets .Template on each chart's objects before each render.
        #expect(out["top.subTemplate"] == "top/charts/feature/templates/cm.yaml")
    }

    /// Helm renders deeper templates first, then in reverse lexical order, on shared values: what `b.yaml` sets,
    /// `a.yaml` sees; what the parent sets, its subchart's templates (rendered before) do not.
    @Test func templatesRenderInHelmsOrderOnSharedValues() throws {
        let c = try chart([
            ("Chart.yaml", "apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n- {name: sub, version: 0.1.0}\n"),
            ("values.yaml", "sub: {}\n"),
            ("templates/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {seen: {{ .Values.seen | default \"none\" | quote }}, fromSub: {{ .Values.sub.mark | default \"none\" | quote }}}\n"),
            ("templates/b.yaml", "{{- $_ := set .Values \"seen\" \"b\" }}{{ $_ := set .Values.sub \"late\" \"parent\" }}\n"),
            ("charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n"),
            ("charts/sub/templates/s.yaml", "{{- $_ := set .Values \"mark\" \"sub\" }}apiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata: {late: {{ .Values.late | default \"none\" | quote }}}\n"),
        ])
        let objects = try render(c)
        let a = try #require(objects.first { $0.value(at: ["metadata", "name"]) == "a" })
        let sub = try #require(objects.first { $0.value(at: ["metadata", "name"]) == "s" })
        #expect(a.value(at: ["data", "seen"]) == "b" && a.value(at: ["data", "fromSub"]) == "sub")
        #expect(sub.value(at: ["data", "late"]) == "none")
    }

    @Test func chartAPIv3IsRefusedByName() {
        #expect {
            try chart([("Chart.yaml", "apiVersion: v3\nname: next\nversion: 1.0.0\n")])
        } throws: { "\($0)".contains("apiVersion v3 (Helm 4's experimental chart API) is not supported") }
    }

    @Test func valuesHaveHelmsMethods() throws {
        let out = try composed("""
              asMap: {{ dig "feature" "image" "tag" "none" .Values.AsMap | quote }}
              table: {{ (.Values.Table "feature.image").tag | quote }}
              tableType: {{ typeOf (.Values.Table "feature") | quote }}
              valuesType: {{ typeOf .Values | quote }}
              asMapType: {{ typeOf .Values.AsMap | quote }}
              path: {{ .Values.PathValue "feature.image.tag" | quote }}
              yaml: {{ (.Values.Table "feature.image").YAML | quote }}
              method: {{ .Values.YAML | contains "AsMap: shadowed" | quote }}
            """, values: "AsMap: shadowed\n")
        #expect(out["top.asMap"] == "v1")
        #expect(out["top.table"] == "v1")
        #expect(out["top.tableType"] == "chartutil.Values" && out["top.valuesType"] == "chartutil.Values")
        #expect(out["top.asMapType"] == "map[string]interface {}")
        #expect(out["top.path"] == "v1")
        #expect(out["top.yaml"] == "tag: v1\n", "YAML keeps its final newline (toYaml trims it)")
        #expect(out["top.method"] == "true", "a method comes before a key of its name")
        // A subchart's own .Values is a chartutil.Values too.
        #expect(out["sub.yaml"]?.contains("replicas: 2\n") == true)
    }

    @Test(arguments: [
        (#"{{ .Values.Table "feature.nope" }}"#, #"error calling Table: "nope" is not a table"#),
        (#"{{ .Values.Table "name" }}"#, #"error calling Table: "name" is not a table"#),
        (#"{{ .Values.PathValue "feature.image" }}"#, #"error calling PathValue: "image" is not a value"#),
        (#"{{ .Values.PathValue "" }}"#, "error calling PathValue: YAML path cannot be empty"),
        (#"{{ .Values.PathValue "nope.x" }}"#, #"error calling PathValue: "x" is not a value"#),
        (#"{{ .Values.Table }}"#, "wrong number of args for Table: want 1 got 0"),
        (#"{{ .Values.YAML "x" }}"#, "wrong number of args for YAML: want 0 got 1"),
        (#"{{ .Values.Table 1 }}"#, "wrong type for value; expected string; got int"),
    ])
    func valuesMethodErrors(_ template: String, _ message: String) throws {
        #expect {
            _ = try composed("  x: '\(template)'\n")
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
