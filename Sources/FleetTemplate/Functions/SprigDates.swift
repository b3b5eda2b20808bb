import FleetModel
import Foundation

/// Sprig's date functions, with Go's reference-time layouts (`2006-01-02 15:04:05`).
enum SprigDates {
    static let family: [TemplateFunction] = [
        F("now") { _, _ in .object(GoTime.now()) },
        F("date", [.string, .any]) { a, _ in .string(time(a[1]).inZone(TimeZone.current).format(a[0].stringValue!)) },
        F("htmlDate", [.any]) { a, _ in .string(time(a[0]).inZone(TimeZone.current).format("2006-01-02")) },
        F("dateInZone", [.string, .any, .string]) { a, _ in .string(time(a[1]).inZone(zone(a[2].stringValue!)).format(a[0].stringValue!)) },
        F("date_in_zone", [.string, .any, .string]) { a, _ in .string(time(a[1]).inZone(zone(a[2].stringValue!)).format(a[0].stringValue!)) },
        F("htmlDateInZone", [.any, .string]) { a, _ in .string(time(a[0]).inZone(zone(a[1].stringValue!)).format("2006-01-02")) },
        F("toDate", [.string, .string]) { a, _ in
            (try? GoTime.parse(a[1].stringValue!, layout: a[0].stringValue!, zone: .current)).map { .object($0) } ?? .object(GoTime(seconds: -62_135_596_800, nanos: 0, zone: TimeZone(identifier: "UTC")!))
        },
        F("mustToDate", [.string, .string]) { a, _ in .object(try GoTime.parse(a[1].stringValue!, layout: a[0].stringValue!, zone: .current)) },
        F("unixEpoch", [.time]) { a, _ in .string(String((a[0].goTime!).seconds)) },
        F("dateModify", [.string, .time]) { a, _ in
            guard let d = GoDuration.parse(a[0].stringValue!) else { return a[1] }
            return .object(a[1].goTime!.adding(nanoseconds: d))
        },
        F("date_modify", [.string, .time]) { a, _ in
            guard let d = GoDuration.parse(a[0].stringValue!) else { return a[1] }
            return .object(a[1].goTime!.adding(nanoseconds: d))
        },
        F("mustDateModify", [.string, .time]) { a, _ in
            guard let d = GoDuration.parse(a[0].stringValue!) else { throw Sprig.fail("time: invalid duration \(GoFormat.quote(a[0].stringValue!))") }
            return .object(a[1].goTime!.adding(nanoseconds: d))
        },
        F("must_date_modify", [.string, .time]) { a, _ in
            guard let d = GoDuration.parse(a[0].stringValue!) else { throw Sprig.fail("time: invalid duration \(GoFormat.quote(a[0].stringValue!))") }
            return .object(a[1].goTime!.adding(nanoseconds: d))
        },
        F("ago", [.any]) { a, _ in
            let t = time(a[0])
            let elapsed = GoTime.now().seconds - t.seconds
            return .string(GoDuration.string(elapsed * 1_000_000_000))
        },
        F("duration", [.any]) { a, _ in
            var n = 0
            switch a[0] {
            case .string(let s): n = Int(s) ?? 0
            case .int(let i, .int64): n = i
            default: n = 0
            }
            let (ns, overflow) = n.multipliedReportingOverflow(by: 1_000_000_000)
            return .string(GoDuration.string(overflow ? (n < 0 ? Int.min : Int.max) : ns))
        },
        F("durationRound", [.any]) { a, _ in
            var d = 0
            switch a[0] {
            case .string(let s): d = GoDuration.parse(s) ?? 0
            case .int(let i, .int64): d = i
            case .object(let o as GoTime): d = (GoTime.now().seconds - o.seconds) * 1_000_000_000
            default: d = 0
            }
            let u = d.magnitude
            let second: UInt = 1_000_000_000, minute = 60 * second, hour = 60 * minute, day = 24 * hour, month = 30 * day, year = 365 * day
            if u > year { return .string("\(u / year)y") }
            if u > month { return .string("\(u / month)mo") }
            if u > day { return .string("\(u / day)d") }
            if u > hour { return .string("\(u / hour)h") }
            if u > minute { return .string("\(u / minute)m") }
            if u > second { return .string("\(u / second)s") }
            return .string("0s")
        },
    ]

    /// Sprig's date argument: a time, or Unix seconds as an integer; anything else is now.
    static func time(_ v: TemplateValue) -> GoTime {
        switch v {
        case .object(let o as GoTime): return o
        case .int(let i, _): return GoTime(seconds: i, nanos: 0, zone: .current)
        default: return GoTime.now()
        }
    }

    static func zone(_ name: String) -> TimeZone {
        if name == "Local" { return .current }
        return TimeZone(identifier: name) ?? TimeZone(identifier: "UTC")!
    }
}

extension TemplateValue {
    var goTime: GoTime? { if case .object(let o as GoTime) = self { return o } else { return nil } }
}

/// Go's `time.Duration` text: `1h0m0s`, `1m1s`, `1.5s`, `300ms`.
enum GoDuration {
    static func string(_ ns: Int) -> String {
        if ns == 0 { return "0s" }
        let negative = ns < 0
        let u = ns.magnitude
        var out: String
        if u < 1_000_000_000 {
            // Sub-second: ns, µs, ms with a fraction.
            let (unit, div): (String, UInt) = u < 1000 ? ("ns", 1) : u < 1_000_000 ? ("µs", 1000) : ("ms", 1_000_000)
            out = fraction(u, div) + unit
        } else {
            let seconds = u / 1_000_000_000
            let frac = u % 1_000_000_000
            var secText = String(seconds % 60)
            if frac > 0 {
                var f = String(frac)
                f = String(repeating: "0", count: 9 - f.count) + f
                while f.hasSuffix("0") { f.removeLast() }
                secText += "." + f
            }
            out = secText + "s"
            let minutes = seconds / 60
            if minutes > 0 {
                out = String(minutes % 60) + "m" + out
                let hours = minutes / 60
                if hours > 0 { out = String(hours) + "h" + out }
            }
        }
        return (negative ? "-" : "") + out
    }

    static func fraction(_ u: UInt, _ div: UInt) -> String {
        let whole = u / div, rest = u % div
        guard rest > 0 else { return String(whole) }
        var f = String(rest)
        let width = String(div).count - 1
        f = String(repeating: "0", count: width - f.count) + f
        while f.hasSuffix("0") { f.removeLast() }
        return "\(whole).\(f)"
    }

    /// Go's `time.ParseDuration`, in nanoseconds.
    static func parse(_ text: String) -> Int? {
        var s = Substring(text)
        var negative = false
        if s.first == "-" || s.first == "+" { negative = s.first == "-"; s = s.dropFirst() }
        if s == "0" { return 0 }
        guard !s.isEmpty else { return nil }
        var total: Double = 0
        while !s.isEmpty {
            let number = s.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            s = s.dropFirst(number.count)
            let unit = s.prefix { !$0.isNumber && $0 != "." }
            s = s.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            total += value * scale
        }
        guard total < 9.2e18 else { return nil }
        return (negative ? -1 : 1) * Int(total.rounded())
    }
}

/// `time.Time`: an instant and the zone it is shown in.
struct GoTime: TemplateObject {
    let seconds: Int
    let nanos: Int
    let zone: TimeZone

    static func now() -> GoTime {
        let t = Date().timeIntervalSince1970
        return GoTime(seconds: Int(t.rounded(.down)), nanos: Int((t - t.rounded(.down)) * 1e9), zone: .current)
    }

    var typeName: String { "time.Time" }
    var kind: String { "struct" }
    var description: String { format("2006-01-02 15:04:05.999999999 -0700 MST") }
    var json: JSONValue { .string(format("2006-01-02T15:04:05.999999999Z07:00")) }

    func field(_ name: String) -> TemplateValue? {
        let c = components
        switch name {
        case "Year": return .int(c.year ?? 0)
        case "Month": return .int(c.month ?? 0)
        case "Day": return .int(c.day ?? 0)
        case "Hour": return .int(c.hour ?? 0)
        case "Minute": return .int(c.minute ?? 0)
        case "Second": return .int(c.second ?? 0)
        case "Unix": return .int64(seconds)
        case "UTC": return .object(inZone(TimeZone(identifier: "UTC")!))
        case "Local": return .object(inZone(.current))
        case "String": return .string(description)
        default: return nil
        }
    }

    func call(_ name: String, _ args: [TemplateValue]) throws -> TemplateValue? {
        switch name {
        case "Format":
            guard args.count == 1, case .string(let layout) = args[0] else { throw TemplateError(.execution, "wrong type for value; expected string") }
            return .string(format(layout))
        default: return nil
        }
    }

    func equals(_ other: any TemplateObject) -> Bool {
        (other as? GoTime).map { $0.seconds == seconds && $0.nanos == nanos } ?? false
    }

    func inZone(_ z: TimeZone) -> GoTime { GoTime(seconds: seconds, nanos: nanos, zone: z) }

    func adding(nanoseconds d: Int) -> GoTime {
        let total = nanos + d % 1_000_000_000
        let carry = total >= 1_000_000_000 ? 1 : total < 0 ? -1 : 0
        return GoTime(seconds: seconds + d / 1_000_000_000 + carry, nanos: total - carry * 1_000_000_000, zone: zone)
    }

    var components: DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    var dayOfYear: Int {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.ordinality(of: .day, in: .year, for: Date(timeIntervalSince1970: TimeInterval(seconds))) ?? 1
    }

    static let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    var abbreviation: String {
        let date = Date(timeIntervalSince1970: TimeInterval(seconds))
        if zone.identifier == "UTC" || zone.identifier == "GMT" { return "UTC" }
        return zone.abbreviation(for: date) ?? zoneOffset(colon: false, seconds: false, z: false)
    }

    func zoneOffset(colon: Bool, seconds withSeconds: Bool, z: Bool, hoursOnly: Bool = false) -> String {
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(seconds)))
        if z && offset == 0 { return "Z" }
        let sign = offset < 0 ? "-" : "+"
        let a = abs(offset)
        let h = String(format: "%02d", a / 3600), m = String(format: "%02d", (a % 3600) / 60), s = String(format: "%02d", a % 60)
        if hoursOnly { return sign + h }
        var out = sign + h + (colon ? ":" : "") + m
        if withSeconds { out += (colon ? ":" : "") + s }
        return out
    }

    /// Go's `Time.Format` with the reference layout `Mon Jan 2 15:04:05 MST 2006`.
    func format(_ layout: String) -> String {
        let c = components
        let chars = Array(layout)
        var out = ""
        var i = 0
        func has(_ s: String) -> Bool {
            let t = Array(s)
            return i + t.count <= chars.count && Array(chars[i..<(i + t.count)]) == t
        }
        func two(_ n: Int) -> String { String(format: "%02d", n) }
        let hour = c.hour ?? 0
        while i < chars.count {
            let table: [(String, () -> String)] = [
                ("January", { GoTime.months[(c.month ?? 1) - 1] }), ("Jan", { String(GoTime.months[(c.month ?? 1) - 1].prefix(3)) }),
                ("Monday", { GoTime.days[(c.weekday ?? 1) - 1] }), ("Mon", { String(GoTime.days[(c.weekday ?? 1) - 1].prefix(3)) }),
                ("MST", { abbreviation }),
                ("2006", { String(format: "%04d", c.year ?? 0) }), ("002", { String(format: "%03d", dayOfYear) }),
                ("01", { two(c.month ?? 0) }), ("02", { two(c.day ?? 0) }), ("03", { two(hour % 12 == 0 ? 12 : hour % 12) }),
                ("04", { two(c.minute ?? 0) }), ("05", { two(c.second ?? 0) }), ("06", { two((c.year ?? 0) % 100) }),
                ("15", { two(hour) }), ("1", { String(c.month ?? 0) }), ("2", { String(c.day ?? 0) }), ("__2", { String(format: "%3d", dayOfYear) }),
                ("_2", { String(format: "%2d", c.day ?? 0) }), ("3", { String(hour % 12 == 0 ? 12 : hour % 12) }), ("4", { String(c.minute ?? 0) }),
                ("5", { String(c.second ?? 0) }), ("PM", { hour >= 12 ? "PM" : "AM" }), ("pm", { hour >= 12 ? "pm" : "am" }),
                ("-07:00:00", { zoneOffset(colon: true, seconds: true, z: false) }), ("-070000", { zoneOffset(colon: false, seconds: true, z: false) }),
                ("-07:00", { zoneOffset(colon: true, seconds: false, z: false) }), ("-0700", { zoneOffset(colon: false, seconds: false, z: false) }),
                ("-07", { zoneOffset(colon: false, seconds: false, z: false, hoursOnly: true) }),
                ("Z07:00:00", { zoneOffset(colon: true, seconds: true, z: true) }), ("Z070000", { zoneOffset(colon: false, seconds: true, z: true) }),
                ("Z07:00", { zoneOffset(colon: true, seconds: false, z: true) }), ("Z0700", { zoneOffset(colon: false, seconds: false, z: true) }),
                ("Z07", { zoneOffset(colon: false, seconds: false, z: true, hoursOnly: true) }),
            ]
            if (chars[i] == "." || chars[i] == ","), i + 1 < chars.count, chars[i + 1] == "0" || chars[i + 1] == "9" {
                let digit = chars[i + 1]
                var j = i + 1
                while j < chars.count, chars[j] == digit { j += 1 }
                if j >= chars.count || !chars[j].isNumber {
                    let n = j - i - 1
                    var frac = String(format: "%09d", nanos).prefix(n)
                    if digit == "9" {
                        while frac.hasSuffix("0") { frac.removeLast() }
                        out += frac.isEmpty ? "" : String(chars[i]) + frac
                    } else {
                        out += String(chars[i]) + frac
                    }
                    i = j
                    continue
                }
            }
            if let (token, value) = table.first(where: { has($0.0) }) {
                out += value()
                i += token.count
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        return out
    }

    /// Go's `time.ParseInLocation` for the common layout elements.
    static func parse(_ text: String, layout: String, zone: TimeZone) throws -> GoTime {
        let value = Array(text), chars = Array(layout)
        var i = 0, j = 0
        var year = 1, month = 1, day = 1, hour = 0, minute = 0, second = 0, nanos = 0, pm: Bool?
        var offset: Int?
        func bad() -> TemplateError {
            TemplateError(.execution, "parsing time \(GoFormat.quote(text)) as \(GoFormat.quote(layout)): cannot parse")
        }
        func has(_ s: String) -> Bool {
            let t = Array(s)
            return i + t.count <= chars.count && Array(chars[i..<(i + t.count)]) == t
        }
        func digits(_ min: Int, _ max: Int) throws -> Int {
            var k = j
            while k < value.count, k - j < max, value[k].isNumber { k += 1 }
            guard k - j >= min, let n = Int(String(value[j..<k])) else { throw bad() }
            j = k
            return n
        }
        func word(_ options: [String]) throws -> Int {
            for (n, o) in options.enumerated() where j + o.count <= value.count && String(value[j..<(j + o.count)]).lowercased() == o.lowercased() {
                j += o.count
                return n
            }
            throw bad()
        }
        func zoneOffset(colon: Bool) throws {
            if j < value.count, value[j] == "Z" { offset = 0; j += 1; return }
            guard j < value.count, value[j] == "+" || value[j] == "-" else { throw bad() }
            let sign = value[j] == "-" ? -1 : 1
            j += 1
            let h = try digits(2, 2)
            if colon { guard j < value.count, value[j] == ":" else { throw bad() }; j += 1 }
            let m = try digits(2, 2)
            offset = sign * (h * 3600 + m * 60)
        }
        while i < chars.count {
            if has("January") { month = try word(months) + 1; i += 7 } else if has("Jan") { month = try word(months.map { String($0.prefix(3)) }) + 1; i += 3 }
            else if has("Monday") { _ = try word(days); i += 6 } else if has("Mon") { _ = try word(days.map { String($0.prefix(3)) }); i += 3 }
            else if has("MST") { while j < value.count, value[j].isLetter { j += 1 }; i += 3 }
            else if has("2006") { year = try digits(4, 4); i += 4 } else if has("01") { month = try digits(2, 2); i += 2 }
            else if has("02") { day = try digits(2, 2); i += 2 } else if has("03") { hour = try digits(2, 2); i += 2 }
            else if has("04") { minute = try digits(2, 2); i += 2 } else if has("05") { second = try digits(2, 2); i += 2 }
            else if has("06") { year = 2000 + (try digits(2, 2)); if year >= 2069 { year -= 100 }; i += 2 }
            else if has("15") { hour = try digits(1, 2); i += 2 } else if has("1") { month = try digits(1, 2); i += 1 }
            else if has("_2") { while j < value.count, value[j] == " " { j += 1 }; day = try digits(1, 2); i += 2 }
            else if has("2") { day = try digits(1, 2); i += 1 } else if has("3") { hour = try digits(1, 2); i += 1 }
            else if has("4") { minute = try digits(1, 2); i += 1 } else if has("5") { second = try digits(1, 2); i += 1 }
            else if has("PM") || has("pm") { pm = try word(["AM", "PM"]) == 1; i += 2 }
            else if has("Z07:00") { try zoneOffset(colon: true); i += 6 } else if has("Z0700") { try zoneOffset(colon: false); i += 5 }
            else if has("-07:00") { try zoneOffset(colon: true); i += 6 } else if has("-0700") { try zoneOffset(colon: false); i += 5 }
            else if (chars[i] == "." || chars[i] == ","), i + 1 < chars.count, chars[i + 1] == "0" || chars[i + 1] == "9" {
                var k = i + 1
                while k < chars.count, chars[k] == chars[i + 1] { k += 1 }
                i = k
                if j < value.count, value[j] == "." || value[j] == "," {
                    j += 1
                    let start = j
                    while j < value.count, value[j].isNumber { j += 1 }
                    let frac = String(value[start..<j]).padding(toLength: 9, withPad: "0", startingAt: 0)
                    nanos = Int(frac.prefix(9)) ?? 0
                }
            } else {
                guard j < value.count, value[j] == chars[i] else { throw bad() }
                // After seconds, a fraction may follow even when the layout has none.
                i += 1
                j += 1
            }
            if i == chars.count || !(chars[i] == "." || chars[i] == ",") {
                if j < value.count, value[j] == ".", i > 0, chars[i - 1] == "5" || (i > 1 && String(chars[(i - 2)..<i]) == "05") {
                    j += 1
                    let start = j
                    while j < value.count, value[j].isNumber { j += 1 }
                    nanos = Int(String(value[start..<j]).padding(toLength: 9, withPad: "0", startingAt: 0).prefix(9)) ?? 0
                }
            }
        }
        guard j == value.count else { throw TemplateError(.execution, "parsing time \(GoFormat.quote(text)): extra text") }
        if let pm { if pm && hour < 12 { hour += 12 } else if !pm && hour == 12 { hour = 0 } }
        var calendar = Calendar(identifier: .gregorian)
        let tz = offset.flatMap { TimeZone(secondsFromGMT: $0) } ?? zone
        calendar.timeZone = tz
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60,
              let date = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)) else {
            throw TemplateError(.execution, "parsing time \(GoFormat.quote(text)): value out of range")
        }
        return GoTime(seconds: Int(date.timeIntervalSince1970), nanos: nanos, zone: tz)
    }
}
