import Foundation
import FleetDiff
@testable import FleetLua
import FleetModel
import Testing

private func run(_ source: String, obj: JSONValue = .object([]), limits: LuaLimits = LuaLimits()) throws -> JSONValue? {
    try LuaScript.run(source, globals: [("obj", obj)], limits: limits)
}

/// What Argo CD's health scripts rely on: `obj` from JSON, Lua 5.1 with `goto`, the result back as JSON.
@Test func healthScriptsSeeTheObjectAndReturnATable() throws {
    let obj: JSONValue = .object([("kind", "Certificate"), ("status", .object([("conditions", .array([
        .object([("type", "Issuing"), ("status", "False")]),
        .object([("type", "Ready"), ("status", "True"), ("message", "Certificate is up to date")]),
    ])), ("gone", .null)]))])
    let script = """
        local hs = {status = "Progressing", message = "Waiting"}
        for _, c in ipairs(obj.status.conditions) do
          if c.type ~= "Ready" then goto continue end
          if c.status == "True" then hs.status = "Healthy"; hs.message = c.message end
          ::continue::
        end
        if obj.status.gone ~= nil then hs.status = "Degraded" end
        return hs
        """
    #expect(try run(script, obj: obj) == .object([("message", "Certificate is up to date"), ("status", "Healthy")]))
}

@Test(arguments: [
    ("return {1, 2, 3}", JSONValue.array([.int(1), .int(2), .int(3)])),
    ("return {a = 1.5, b = true, c = 'x'}", .object([("a", .double(1.5)), ("b", .bool(true)), ("c", "x")])),
    ("return {[1] = 'a', [3] = 'c'}", .object([("1", "a"), ("3", "c")])),
    ("return {}", .object([])),
    ("return obj.list[2] .. obj.map.k", .string("yv")),
    ("return #obj.list", .int(2)),
])
func valuesCrossTheBoundaryAsJSON(_ source: String, _ expected: JSONValue) throws {
    let obj: JSONValue = .object([("list", .array(["x", "y"])), ("map", .object([("k", "v")]))])
    #expect(try run(source, obj: obj) == expected)
}

/// The sandbox: no files, no processes, no modules but `os`, no single allocation past the budget.
@Test(arguments: [
    "return io == nil and debug == nil and jit == nil and ffi == nil and package == nil",
    "return dofile == nil and loadfile == nil and os.execute == nil and os.getenv == nil and os.remove == nil and os.exit == nil",
    "return require('os').time() > 0 and type(os.date('%Y')) == 'string' and type(os.clock()) == 'number'",
    "return not pcall(require, 'io')",
    "return not pcall(string.rep, 'x', 100000000)",
])
func theSandboxHoldsOnlySafeLibraries(_ source: String) throws {
    #expect(try run(source) == .bool(true), "\(source)")
}

@Test func budgetsStopAScriptAndSayWhich() {
    #expect {
        try run("while true do end", limits: LuaLimits(instructions: 1_000_000, seconds: 10))
    } throws: { ($0 as? LuaError)?.code == .budget && "\($0)".contains("instruction budget") }
    #expect {
        try run("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end", limits: LuaLimits(instructions: 1_000_000_000, memoryBytes: 8 << 20, seconds: 10))
    } throws: { ($0 as? LuaError)?.code == .budget && "\($0)".contains("memory budget") }
    #expect {
        try run("while true do end", limits: LuaLimits(instructions: Int.max / 2, seconds: 0.2))
    } throws: { ($0 as? LuaError)?.code == .budget && "\($0)".contains("deadline") }
}

@Test func errorsNameTheScriptAndLine() {
    #expect { try LuaScript.run("return {", chunkName: "health.lua", globals: []) } throws: {
        ($0 as? LuaError)?.code == .syntax && "\($0)".contains("health.lua:1")
    }
    #expect { try LuaScript.run("\nerror('no status')", chunkName: "health.lua", globals: []) } throws: {
        ($0 as? LuaError)?.code == .runtime && "\($0)".contains("health.lua:2: no status")
    }
    #expect { try run("return function() end") } throws: { ($0 as? LuaError)?.code == .result }
    // A table that holds itself is not read forever (deep, or wide and deep).
    #expect { try run("local t = {} t.a = t return t") } throws: { ($0 as? LuaError)?.code == .result }
    #expect { try run("local t = {} t.a = t t.b = t t.c = t return t") } throws: { ($0 as? LuaError)?.code == .result }
}

/// Lua has one table type: an empty list an action leaves comes back as a list where the object had one.
@Test func emptyListsComeBackAsLists() throws {
    let original: JSONValue = .object([("spec", .object([("args", .array(["a"])), ("env", .object([("K", "v")]))]))])
    let result = try #require(try run("obj.spec.args = {} obj.spec.env = {} return obj", obj: original))
    #expect(LuaScript.restoringEmptyArrays(result, like: original)
            == .object([("spec", .object([("args", .array([])), ("env", .object([]))]))]))
    let impacted = try #require(try run("obj.spec.args = {} return {{operation = 'patch', resource = obj}}", obj: original))
    #expect(LuaScript.restoringEmptyArrays(impacted, like: original)
            == .array([.object([("operation", "patch"), ("resource", .object([("spec", .object([("args", .array([])), ("env", .object([("K", "v")]))]))]))])]))
}

/// Scripts by kind as Argo CD finds them: inline ones win, then an exact directory, then `_` wildcards (fewest
/// first); a failing script or an unknown status is Unknown with the reason, never Healthy.
@Test func healthChecksAreFoundByKindAsArgoCDFindsThem() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("flotilla-lua-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    func script(_ path: String, _ status: String) throws {
        let dir = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "return {status = '\(status)', message = '\(path)'}".write(to: dir.appendingPathComponent("health.lua"), atomically: true, encoding: .utf8)
    }
    try script("pkg.crossplane.io/Provider", "Healthy")
    try script("_.crossplane.io/_", "Progressing")
    try script("_/_", "Suspended")
    try script("cert-manager.io/Certificate", "Degraded")
    let checks = try LuaHealthChecks(inline: ["cert-manager.io/Certificate": "return {status = 'Healthy', message = 'inline'}",
                                              "example.com/Broken": "error('boom')", "example.com/Odd": "return {status = 'Fine'}"],
                                     directories: [root.path])
    func health(_ apiVersion: String, _ kind: String) -> Health? {
        checks.health(of: .object([("apiVersion", .string(apiVersion)), ("kind", .string(kind))]))
    }
    #expect(health("pkg.crossplane.io/v1", "Provider") == Health(.healthy, "pkg.crossplane.io/Provider"))
    #expect(health("aws.upbound.crossplane.io/v1beta1", "Bucket") == Health(.progressing, "_.crossplane.io/_"))
    #expect(health("example.org/v1", "Thing") == Health(.suspended, "_/_"))
    #expect(health("cert-manager.io/v1", "Certificate") == Health(.healthy, "inline"))
    #expect(health("example.com/v1", "Broken")?.status == .unknown && health("example.com/v1", "Broken")?.message.contains("boom") == true)
    #expect(health("example.com/v1", "Odd")?.status == .unknown)
    #expect(LuaHealthChecks.matches("_.crossplane.io", "crossplane.io") == false)
    #expect(throws: LuaError.self) { try LuaHealthChecks(directories: [root.appendingPathComponent("missing").path]) }
}
