#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (Sources/FleetFuzz/Corpus/TARGET/) from the repository's own examples and
the shared conformance suites. Rerun after adding examples; the corpora are kept small (a few hundred KiB)."""
import hashlib, json, os, sys, glob
import yaml  # PyYAML

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
shared = os.path.join(os.path.dirname(root), "shared", "conformance")
out = os.path.join(root, "Sources", "FleetFuzz", "Corpus")
MAX = 8192  # bytes per seed

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    if not data or len(data) > MAX:
        return
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def read(path):
    with open(path, "rb") as f:
        return f.read()

# yaml: the repository's fleet, generators and ApplicationSets; real ApplicationSets and cluster Secrets.
for path in sorted(glob.glob(os.path.join(root, "fleet", "**", "*.yaml"), recursive=True)
                   + glob.glob(os.path.join(root, "generators", "*.yaml"))
                   + glob.glob(os.path.join(shared, "argo-realworld", "original", "**", "*.yaml"), recursive=True)[:60]
                   + glob.glob(os.path.join(shared, "argo-realworld", "clusters", "*.yaml"))):
    put("yaml", read(path))

# template: Go template and Sprig conformance cases (template NUL data).
cases = []
for name in ["sprig.yaml", "go-exec.yaml", "argocd-utils.yaml"]:
    doc = yaml.safe_load(read(os.path.join(shared, "gotemplate", name)))
    cases += doc.get("cases", [])
for i, case in enumerate(cases):
    template = case.get("template")
    if not isinstance(template, str) or i % 3:
        continue
    data = json.dumps(case.get("data") or {}, default=str)
    put("template", template + "\0" + data)
    if "regex" in template:
        put("regex", template.split('"')[1] + "\0" + data if template.count('"') >= 2 else template)

# json: the data documents of those cases, and a status.
for case in cases[::7]:
    put("json", json.dumps(case.get("data") or {}, default=str))
put("json", '{"sync":{"status":"Synced","revisions":["abc"]},"health":{"status":"Healthy"},"operationState":{"phase":"Running","message":"m","progress":{"revisions":["abc"],"step":1,"stepStartedAt":1,"force":false,"startedAt":1}}}')

# helm: charts as directory images (path 0x01 content 0x01 ...).
def chart_image(directory):
    parts = []
    for path in sorted(glob.glob(os.path.join(directory, "**", "*"), recursive=True)):
        if os.path.isfile(path):
            parts += [os.path.relpath(path, directory).encode(), read(path)]
    return b"\x01".join(parts)
for directory in sorted(glob.glob(os.path.join(shared, "helm", "*", "chart"))) + sorted(glob.glob(os.path.join(root, "fleet", "charts", "*"))):
    put("helm", chart_image(directory))

# set, schema, selector, regex, sim, webhook, form: hand-written seeds in the grammar of each.
for s in ["a=b", "a.b=c,d.e=f", "list[0]=x", "list={a,b,c}", "a\\.b=c", "x[1].y=z", "n=1", "nul=null", "a.b[0].c=d", "empty="]:
    put("set", s)
put("schema", '{"type":"object","required":["image"],"properties":{"image":{"type":"object","properties":{"tag":{"type":"string","pattern":"^v"}}},"replicas":{"type":"integer","minimum":1}}}\0image: {tag: v1}\nreplicas: 2\n')
put("schema", '{"$ref":"#/definitions/a","definitions":{"a":{"oneOf":[{"type":"string"},{"type":"array","items":{"$ref":"#/definitions/a"}}]}}}\0- a\n- [b]\n')
for s in ["env=prod,region in (eu,us),!canary\0env=prod\nregion=eu", "app notin (a,b)\0app=c", "apps/*/config.yaml\0apps/web/config.yaml",
          "**/{a,b}/*.yaml\0x/a/y.yaml", "tier\0tier=x", "a!=b\0a=b"]:
    put("selector", s)
for s in [r"^(\w+)-(\d+)$" + "\0web-12", r"(?i)a+b*" + "\0AAb", r"[[:alpha:]]+\d{2,3}" + "\0abc123", r"\Qa.b\E|x" + "\0a.b", r"(a|b)*c" + "\0ababc"]:
    put("regex", s)
put("sim", "GET /api/v1/namespaces?limit=2\nAccept: application/json\n\n")
put("sim", "GET /apis/apps/v1/namespaces/web/deployments?watch=true&resourceVersion=0&timeoutSeconds=1\n\n")
put("sim", "PATCH /api/v1/namespaces/web/configmaps/c?fieldManager=flotilla&force=true\nContent-Type: application/apply-patch+yaml\n\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: web}\ndata: {a: b}\n")
put("sim", "POST /api/v1/namespaces\nContent-Type: application/json\n\n{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"web\"}}")
put("sim", "PATCH /apis/apps/v1/namespaces/web/deployments/d\nContent-Type: application/merge-patch+json\n\n{\"spec\":{\"replicas\":3}}")
put("sim", "GET /api/v1/namespaces/web/pods?labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning\nAccept: application/json;as=Table;v=v1;g=meta.k8s.io\n\n")
put("sim", b"GET /api/v1/namespaces\nAccept: application/vnd.kubernetes.protobuf\n\n")
put("sim", b"POST /api/v1/namespaces\nContent-Type: application/vnd.kubernetes.protobuf\n\nk8s\x00\x0a\x0c\x0a\x02v1\x12\x09Namespace\x12\x06\x0a\x04\x0a\x02ns")
# kube: what a kube-apiserver answers. The first byte picks the status (200 + byte % 320) and the watch chunk size.
def kube(status, body):
    put("kube", bytes([(status - 200) % 320 if status - 200 < 256 else 0]) + body.encode())
kube(404, '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"deployments.apps \\"web\\" not found","reason":"NotFound","details":{"name":"web","group":"apps","kind":"deployments"},"code":404}')
kube(422, '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Deployment.apps \\"web\\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0","reason":"Invalid","details":{"name":"web","group":"apps","kind":"Deployment","causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1: must be greater than or equal to 0","field":"spec.replicas"}]},"code":422}')
kube(409, '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"namespaces \\"web\\" already exists","reason":"AlreadyExists","code":409}')
kube(502, '<html><body>502 Bad Gateway</body></html>')
kube(200, '{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"apps","versions":[{"groupVersion":"apps/v1","version":"v1"}],"preferredVersion":{"groupVersion":"apps/v1","version":"v1"}},{"name":"argoproj.io","versions":[{"groupVersion":"argoproj.io/v1alpha1","version":"v1alpha1"}]}]}')
kube(200, '{"kind":"APIResourceList","groupVersion":"apps/v1","resources":[{"name":"deployments","singularName":"deployment","namespaced":true,"kind":"Deployment","verbs":["create","delete","get","list","patch","update","watch"]},{"name":"deployments/scale","namespaced":true,"group":"autoscaling","version":"v1","kind":"Scale","verbs":["get","patch","update"]}]}')
kube(200, '{"kind":"DeploymentList","apiVersion":"apps/v1","metadata":{"resourceVersion":"812","continue":"eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6ODEyLCJzdGFydCI6IndlYlx1MDAwMCJ9"},"items":[{"metadata":{"name":"web","namespace":"shop","resourceVersion":"800","annotations":{"flotilla.io/application":"web-prod"}},"spec":{"replicas":2}}]}')
watch = "\n".join([
    '{"type":"ADDED","object":{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"shop","resourceVersion":"801","labels":{"app.kubernetes.io/managed-by":"flotilla"},"annotations":{"flotilla.io/application":"web-prod"},"managedFields":[{"manager":"flotilla","operation":"Apply"},{"manager":"kubectl","operation":"Update"}]},"spec":{"replicas":2}}}',
    '{"type":"MODIFIED","object":{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"shop","resourceVersion":"802","annotations":{"flotilla.io/application":"web-staging"}},"spec":{"replicas":3}}}',
    '{"type":"BOOKMARK","object":{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"resourceVersion":"900"}}}',
    '{"type":"DELETED","object":{"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"web","namespace":"shop","resourceVersion":"903"}}}',
    '{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (903)","reason":"Expired","code":410}}',
]) + "\n"
for first in (200, 207, 260):
    kube(first, watch)
put("webhook", 'X-GitHub-Event: push\nX-Hub-Signature-256: sha256=00\n\n{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567","repository":{"clone_url":"https://github.com/a/b.git","ssh_url":"git@github.com:a/b.git","html_url":"https://github.com/a/b"}}')
put("webhook", 'X-Gitlab-Token: fuzz-secret\nX-Gitlab-Event: Push Hook\n\n{"ref":"refs/heads/main","checkout_sha":"0123456789abcdef0123456789abcdef01234567","project":{"git_http_url":"https://gitlab.com/a/b.git","git_ssh_url":"git@gitlab.com:a/b.git","web_url":"https://gitlab.com/a/b"}}')
for s in ["a=1&b=two+words&c=%2Fpath\0flotilla_session=abc; other=1", "csrf=x&next=%2Fui%2Fapps\0flotilla_session=", "p, role:dev, applications, sync, */*, allow\ng, dev, role:dev\0flt_0123456789ab_" + "0" * 64]:
    put("form", s)
print("seeds:", {t: len(os.listdir(os.path.join(out, t))) for t in sorted(os.listdir(out))})
