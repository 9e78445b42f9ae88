import Foundation

/// A Go time.Time in templates (`now`, `toDate`), printed with Go's default layout.
struct GoTime: TemplateObject {
    let date: Date
    let zone: TimeZone
    var goTypeName: String { "time.Time" }
    var goDescription: String { Dates.format(date, layout: "2006-01-02 15:04:05.999999999 -0700 MST", zone: zone) }
    func field(_ name: String) -> Value? { nil }
    func method(_ name: String) -> TemplateFunction? {
        let d = date, z = zone
        switch name {
        case "Unix": return { _, _ in .int(Int(d.timeIntervalSince1970)) }
        case "Year": return { _, _ in .int(Calendar(identifier: .gregorian).dateComponents(in: z, from: d).year!) }
        case "Format": return { _, a in .string(Dates.format(d, layout: try Arg2.string(a[0]), zone: z)) }
        case "UTC": return { _, _ in .object(GoTime(date: d, zone: TimeZone(identifier: "UTC")!)) }
        default: return nil
        }
    }
}

/// Sprig's date functions with Go's reference-time layouts.
enum Dates {
    static func register(_ f: inout [String: FunctionSpec]) {
        f["now"] = FunctionSpec(0, 0) { ctx, _ in
            .object(GoTime(date: ctx.options.deterministic ? ctx.options.fixedNow : Date(), zone: ctx.options.deterministic ? TimeZone(identifier: "UTC")! : .current))
        }
        f.add("date", 2) { a in
            let (d, z) = toTime(a[1])
            return .string(format(d, layout: try Arg2.string(a[0]), zone: z))
        }
        f.add("dateInZone", 3) { a in
            let (d, _) = toTime(a[1])
            let z = TimeZone(identifier: try Arg2.string(a[2])) ?? TimeZone(identifier: "UTC")!
            return .string(format(d, layout: try Arg2.string(a[0]), zone: z))
        }
        f.add("htmlDate", 1) { a in let (d, z) = toTime(a[0]); return .string(format(d, layout: "2006-01-02", zone: z)) }
        f.add("htmlDateInZone", 2) { a in
            let (d, _) = toTime(a[0])
            return .string(format(d, layout: "2006-01-02", zone: TimeZone(identifier: try Arg2.string(a[1])) ?? TimeZone(identifier: "UTC")!))
        }
        f.add("unixEpoch", 1) { a in .string(String(Int(toTime(a[0]).0.timeIntervalSince1970))) }
        f.add("toDate", 2) { a in
            guard let d = parse(try Arg2.string(a[1]), layout: try Arg2.string(a[0])) else { return .object(GoTime(date: Date(timeIntervalSince1970: -62135596800), zone: TimeZone(identifier: "UTC")!)) }
            return .object(GoTime(date: d, zone: .current))
        }
        f["mustToDate"] = f["toDate"]
        f.add("duration", 1) { a in .string(goDuration(Double(Arg2.toInt(a[0])))) }
        f["ago"] = FunctionSpec(1, 1) { ctx, a in
            let now = ctx.options.deterministic ? ctx.options.fixedNow : Date()
            return .string(goDuration(now.timeIntervalSince(toTime(a[0]).0).rounded()))
        }
        f.add("dateModify", 2) { a in
            let (d, z) = toTime(a[1])
            guard let secs = parseDuration(try Arg2.string(a[0])) else { return .object(GoTime(date: d, zone: z)) }
            return .object(GoTime(date: d.addingTimeInterval(secs), zone: z))
        }
        f["mustDateModify"] = f["dateModify"]
        // Sprig's snake_case aliases
        f["date_in_zone"] = f["dateInZone"]
        f["date_modify"] = f["dateModify"]
        f["must_date_modify"] = f["mustDateModify"]
        f["durationRound"] = FunctionSpec(1, 1) { ctx, a in
            // Sprig: a duration string, an int64 of nanoseconds (template ints count as int64 here),
            // or a time (the time since it); anything else is 0.
            var nanos: Double = 0
            switch a[0] {
            case .string(let s): nanos = (parseDuration(s) ?? 0) * 1e9
            case .int(let i): nanos = Double(i)
            case .object(let t as GoTime):
                let now = ctx.options.deterministic ? ctx.options.fixedNow : Date()
                nanos = now.timeIntervalSince(t.date) * 1e9
            default: break
            }
            return .string(roundDuration(abs(nanos)))
        }
    }

    /// Sprig's durationRound: the largest whole unit strictly exceeded (y = 365 d, mo = 30 d).
    static func roundDuration(_ nanos: Double) -> String {
        let second = 1e9, minute = 60 * second, hour = 60 * minute, day = 24 * hour
        let units: [(Double, String)] = [(365 * day, "y"), (30 * day, "mo"), (day, "d"), (hour, "h"), (minute, "m"), (second, "s")]
        for (size, suffix) in units where nanos > size { return String(UInt64(nanos / size)) + suffix }
        return "0s"
    }

    static func toTime(_ v: Value) -> (Date, TimeZone) {
        switch v {
        case .object(let o as GoTime): return (o.date, o.zone)
        case .int(let i): return (Date(timeIntervalSince1970: Double(i)), .current)
        case .float(let f): return (Date(timeIntervalSince1970: f), .current)
        default: return (Date(), .current)
        }
    }

    static func parseDuration(_ s: String) -> Double? {
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var rest = Substring(s)
        var neg = false
        if rest.hasPrefix("-") { neg = true; rest = rest.dropFirst() } else if rest.hasPrefix("+") { rest = rest.dropFirst() }
        var total = 0.0
        while !rest.isEmpty {
            let num = rest.prefix { $0.isNumber || $0 == "." }
            guard !num.isEmpty, let n = Double(num) else { return nil }
            rest = rest.dropFirst(num.count)
            guard let u = units.first(where: { rest.hasPrefix($0.0) && !(($0.0 == "m") && rest.hasPrefix("ms")) }) else { return nil }
            rest = rest.dropFirst(u.0.count)
            total += n * u.1
        }
        return neg ? -total : total
    }

    /// time.Duration's String for whole seconds ("1h2m3s", "0s").
    static func goDuration(_ seconds: Double) -> String {
        if seconds == 0 { return "0s" }
        var s = Int(abs(seconds))
        var out = ""
        let h = s / 3600; s %= 3600
        let m = s / 60; s %= 60
        if h > 0 { out += "\(h)h" }
        if h > 0 || m > 0 { out += "\(m)m" }
        out += "\(s)s"
        return (seconds < 0 ? "-" : "") + out
    }

    /// Formats with a Go layout (reference time Mon Jan 2 15:04:05 MST 2006).
    static func format(_ date: Date, layout: String, zone: TimeZone) -> String {
        let cal = Calendar(identifier: .gregorian)
        let c = cal.dateComponents(in: zone, from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        let offset = zone.secondsFromGMT(for: date)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        func off(_ colon: Bool, z: Bool) -> String {
            if z && offset == 0 { return "Z" }
            let sign = offset < 0 ? "-" : "+"
            let a = abs(offset)
            return sign + two(a / 3600) + (colon ? ":" : "") + two((a % 3600) / 60)
        }
        let nanos = c.nanosecond ?? 0
        let tokens: [(String, () -> String)] = [
            ("January", { months[c.month! - 1] }), ("Monday", { days[c.weekday! - 1] }),
            ("2006", { String(c.year!) }), ("Z07:00", { off(true, z: true) }), ("-07:00", { off(true, z: false) }),
            ("Z0700", { off(false, z: true) }), ("-0700", { off(false, z: false) }),
            (".999999999", { var s = String(format: "%09d", nanos); while s.hasSuffix("0") { s.removeLast() }; return s.isEmpty ? "" : "." + s }),
            (".000000", { "." + String(format: "%06d", nanos / 1000) }), (".000", { "." + String(format: "%03d", nanos / 1_000_000) }),
            ("Jan", { String(months[c.month! - 1].prefix(3)) }), ("Mon", { String(days[c.weekday! - 1].prefix(3)) }),
            ("MST", { zone.abbreviation(for: date) ?? "UTC" }), ("01", { two(c.month!) }), ("02", { two(c.day!) }),
            ("_2", { c.day! < 10 ? " \(c.day!)" : "\(c.day!)" }), ("15", { two(c.hour!) }),
            ("03", { two((c.hour! + 11) % 12 + 1) }), ("04", { two(c.minute!) }), ("05", { two(c.second!) }),
            ("06", { two(c.year! % 100) }), ("PM", { c.hour! >= 12 ? "PM" : "AM" }), ("pm", { c.hour! >= 12 ? "pm" : "am" }),
            ("1", { String(c.month!) }), ("2", { String(c.day!) }), ("3", { String((c.hour! + 11) % 12 + 1) }),
            ("4", { String(c.minute!) }), ("5", { String(c.second!) }),
        ]
        var out = ""
        var rest = Substring(layout)
        outer: while !rest.isEmpty {
            for (tok, fn) in tokens where rest.hasPrefix(tok) {
                out += fn(); rest = rest.dropFirst(tok.count); continue outer
            }
            out.append(rest.removeFirst())
        }
        return out
    }

    static func parse(_ s: String, layout: String) -> Date? {
        let map: [(String, String)] = [("2006", "yyyy"), ("01", "MM"), ("02", "dd"), ("15", "HH"), ("04", "mm"), ("05", "ss"), ("Z07:00", "XXXXX"), ("-0700", "Z"), ("MST", "zzz"), ("Jan", "MMM")]
        var fmt = layout
        for (g, icu) in map { fmt = fmt.replacingOccurrences(of: g, with: icu) }
        let df = DateFormatter()
        df.locale = Locale(identifier: "en_US_POSIX")
        df.dateFormat = fmt
        return df.date(from: s)
    }
}
