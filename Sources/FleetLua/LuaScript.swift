import CLuaJIT
import FleetModel

/// What one script may use: VM instructions, memory and wall time. A script past any of them is stopped with an
/// error naming the budget.
public struct LuaLimits: Sendable, Equatable {
    public var instructions: Int
    public var memoryBytes: Int
    public var seconds: Double

    public init(instructions: Int = 50_000_000, memoryBytes: Int = 64 << 20, seconds: Double = 1) {
        self.instructions = instructions
        self.memoryBytes = memoryBytes
        self.seconds = seconds
    }
}

/// Why a script did not give an answer.
public struct LuaError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable { case syntax, runtime, budget, result }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// Runs a Lua script as Argo CD runs its resource customizations: Lua 5.1 with `goto` (LuaJIT, its compiler off),
/// only the safe libraries — base without file access, table, string, math and an `os` with `time`, `date`,
/// `clock` and `difftime` — and `require` that knows only `os`; the inputs as globals (`obj`, `actionParams`)
/// converted from JSON; the script's first return value converted back to JSON. A fresh VM per run, within
/// `LuaLimits`.
public enum LuaScript {
    /// Runs `source` (named `chunkName` in errors) with `globals` set; returns its first return value (nil when
    /// it returns nothing).
    public static func run(_ source: String, chunkName: String = "script", globals: [(String, JSONValue)],
                           limits: LuaLimits = LuaLimits()) throws -> JSONValue? {
        guard let state = luaL_newstate() else { throw LuaError(.runtime, "cannot create a Lua VM") }
        defer { lua_close(state) }
        openSafeLibraries(state)
        try load(state, prelude, name: "=prelude")
        guard lua_pcall(state, 0, 0, 0) == 0 else { throw LuaError(.runtime, "prelude: \(message(state))") }
        for (name, value) in globals {
            push(state, value, depth: 0)
            flotilla_lua_setglobal(state, name)
        }
        try load(state, source, name: "=" + chunkName)
        flotilla_lua_set_budget(state, max(1, limits.instructions / 1000), Int32(clamping: max(1, limits.memoryBytes / 1024)), limits.seconds)
        let status = lua_pcall(state, 0, 1, 0)
        lua_sethook(state, nil, 0, 0)
        guard status == 0 else {
            let text = message(state)
            throw LuaError(flotilla_lua_stop_reason(state) != 0 ? .budget : .runtime, text)
        }
        if flotilla_lua_isnil(state, -1) != 0 { return nil }
        var budget = maxResultValues
        return try value(state, at: lua_gettop(state), depth: 0, budget: &budget)
    }

    /// Lua code run before each script: the sandbox's `require`, and a `string.rep` that cannot allocate past the
    /// memory budget in one call.
    static let prelude = """
        local rep = string.rep
        string.rep = function(s, n, sep)
          local size = #s * (n or 0) + #(sep or "") * math.max((n or 0) - 1, 0)
          if size > 16777216 then error("string.rep: the result would be " .. size .. " bytes", 2) end
          return rep(s, n, sep)
        end
        local safeOS = os
        function require(name)
          if name == "os" then return safeOS end
          error("module '" .. tostring(name) .. "' not found: only os may be required", 2)
        end
        """

    static func openSafeLibraries(_ state: OpaquePointer) {
        flotilla_lua_open(state, luaopen_base, "")
        flotilla_lua_open(state, luaopen_table, LUA_TABLIBNAME)
        flotilla_lua_open(state, luaopen_string, LUA_STRLIBNAME)
        flotilla_lua_open(state, luaopen_math, LUA_MATHLIBNAME)
        flotilla_lua_open(state, luaopen_os, LUA_OSLIBNAME)
        // No file access, no loading of code from files, no process control.
        for name in ["dofile", "loadfile", "module", "newproxy", "collectgarbage", "gcinfo"] {
            lua_pushnil(state)
            flotilla_lua_setglobal(state, name)
        }
        flotilla_lua_getglobal(state, LUA_OSLIBNAME)
        for name in ["execute", "exit", "getenv", "remove", "rename", "setlocale", "tmpname"] {
            lua_pushnil(state)
            lua_setfield(state, -2, name)
        }
        flotilla_lua_pop(state, 1)
    }

    static func load(_ state: OpaquePointer, _ source: String, name: String) throws {
        var text = source
        let status = text.withUTF8 { bytes in bytes.withMemoryRebound(to: CChar.self) { luaL_loadbuffer(state, $0.baseAddress, $0.count, name) } }
        guard status == 0 else { throw LuaError(.syntax, message(state)) }
    }

    static func message(_ state: OpaquePointer) -> String {
        var length = 0
        guard let text = flotilla_lua_tostring(state, -1, &length) else { return "an error without a message" }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self)
    }

    /// Deeper input than this is cut (nil): objects from clusters are far shallower.
    static let maxDepth = 200

    static func push(_ state: OpaquePointer, _ value: JSONValue, depth: Int) {
        guard depth < maxDepth, lua_checkstack(state, 4) != 0 else { lua_pushnil(state); return }
        switch value {
        case .null: lua_pushnil(state)
        case .bool(let b): lua_pushboolean(state, b ? 1 : 0)
        case .int(let i): lua_pushnumber(state, Double(i))
        case .double(let d): lua_pushnumber(state, d)
        case .string(let s):
            var text = s
            text.withUTF8 { bytes in bytes.withMemoryRebound(to: CChar.self) { lua_pushlstring(state, $0.baseAddress, $0.count) } }
        case .array(let items):
            lua_createtable(state, Int32(clamping: items.count), 0)
            for (i, item) in items.enumerated() {
                push(state, item, depth: depth + 1)
                lua_rawseti(state, -2, Int32(clamping: i + 1))
            }
        case .object(let pairs):
            lua_createtable(state, 0, Int32(clamping: pairs.count))
            for (key, item) in pairs {
                if case .null = item { continue }   // a nil field is no field in Lua
                push(state, item, depth: depth + 1)
                lua_setfield(state, -2, key)
            }
        }
    }

    /// A Lua value as JSON: a table whose keys are exactly 1…n is an array, any other table an object (numeric
    /// keys as text); functions and other kinds are refused.
    /// Values a result may hold: a table that holds itself twice would otherwise be read 2^depth times.
    static let maxResultValues = 1_000_000

    static func value(_ state: OpaquePointer, at index: Int32, depth: Int, budget: inout Int) throws -> JSONValue {
        guard depth < maxDepth else { throw LuaError(.result, "the script's result nests deeper than \(maxDepth) levels") }
        budget -= 1
        guard budget >= 0 else { throw LuaError(.result, "the script's result holds more than \(maxResultValues) values") }
        switch lua_type(state, index) {
        case LUA_TNIL: return .null
        case LUA_TBOOLEAN: return .bool(lua_toboolean(state, index) != 0)
        case LUA_TNUMBER:
            let d = lua_tonumber(state, index)
            if d.rounded() == d, abs(d) < 9.0e15 { return .int(Int(d)) }
            return .double(d)
        case LUA_TSTRING:
            var length = 0
            let text = flotilla_lua_tostring(state, index, &length)!
            return .string(String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self))
        case LUA_TTABLE:
            guard lua_checkstack(state, 4) != 0 else { throw LuaError(.result, "the script's result is too deep") }
            var entries: [(key: JSONValue, value: JSONValue)] = []
            lua_pushnil(state)
            while lua_next(state, index) != 0 {
                let key: JSONValue
                switch lua_type(state, -2) {
                case LUA_TNUMBER: key = .double(lua_tonumber(state, -2))
                case LUA_TSTRING:
                    var length = 0
                    let text = flotilla_lua_tostring(state, -2, &length)!
                    key = .string(String(decoding: UnsafeRawBufferPointer(start: text, count: length), as: UTF8.self))
                default:
                    flotilla_lua_pop(state, 2)
                    throw LuaError(.result, "the script's result has a table key of type \(typeName(state, -1))")
                }
                let item: JSONValue
                do { item = try value(state, at: lua_gettop(state), depth: depth + 1, budget: &budget) } catch {
                    flotilla_lua_pop(state, 2)
                    throw error
                }
                entries.append((key, item))
                flotilla_lua_pop(state, 1)
            }
            let n = entries.count
            let isArray = n > 0 && entries.allSatisfy { entry in
                if case .double(let d) = entry.key { return d.rounded() == d && d >= 1 && d <= Double(n) } else { return false }
            }
            if isArray {
                var items = [JSONValue](repeating: .null, count: n)
                for entry in entries { if case .double(let d) = entry.key { items[Int(d) - 1] = entry.value } }
                return .array(items)
            }
            let pairs = entries.map { entry -> (String, JSONValue) in
                switch entry.key {
                case .string(let s): return (s, entry.value)
                case .double(let d): return (d.rounded() == d ? String(Int(d)) : String(d), entry.value)
                default: return ("", entry.value)
                }
            }
            return .object(pairs.sorted { $0.0 < $1.0 })
        default:
            throw LuaError(.result, "the script returned a value of type \(typeName(state, index)), which has no JSON form")
        }
    }

    static func typeName(_ state: OpaquePointer, _ index: Int32) -> String {
        String(cString: lua_typename(state, lua_type(state, index)))
    }
}

extension LuaScript {
    /// Lua has one table type, so an empty list comes back as an empty object: where `original` has a list at
    /// the same path, the result gets an empty list again (Argo CD does the same with what an action returns).
    public static func restoringEmptyArrays(_ result: JSONValue, like original: JSONValue) -> JSONValue {
        switch (result, original) {
        case (.object(let pairs), .array) where pairs.isEmpty:
            return .array([])
        case (.object(let pairs), .object(let before)):
            return .object(pairs.map { key, value in
                (key, before.first { $0.0 == key }.map { restoringEmptyArrays(value, like: $0.1) } ?? value)
            })
        case (.array(let items), .array(let before)):
            return .array(items.enumerated().map { i, item in i < before.count ? restoringEmptyArrays(item, like: before[i]) : item })
        case (.array(let items), _):
            // An action's list of impacted resources: each resource against the object acted on.
            return .array(items.map { item in
                guard case .object(let pairs) = item, let resource = pairs.first(where: { $0.0 == "resource" })?.1 else { return item }
                return .object(pairs.map { ($0.0, $0.0 == "resource" ? restoringEmptyArrays(resource, like: original) : $0.1) })
            })
        default:
            return result
        }
    }
}
