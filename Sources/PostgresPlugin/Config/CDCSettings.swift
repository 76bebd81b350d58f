/// Settings of the source's change data capture (sync mode `cdc`).
struct CDCSettings: Sendable {
    /// The logical replication slot; nil means the default derived from the database name.
    var slot: String?
    /// The publication; nil means the default derived from the database name.
    var publication: String?
    /// Keep streaming after catching up, until Cancel or SIGTERM (else the run is bounded).
    var follow: Bool

    static let slotSetting = Setting<String?>.string(
        "cdc_slot", minLength: 1, maxLength: 63,
        "Source, sync mode cdc: the logical replication slot, 1 to 63 lower-case letters, digits and underscores (created when missing). Default: sluice_<database>.")
    static let publicationSetting = Setting<String?>.string(
        "cdc_publication", minLength: 1, maxLength: 63,
        "Source, sync mode cdc: the publication of the streamed tables, 1 to 63 bytes (created when missing and allowed). Default: sluice_<database>.")
    static let followSetting = Setting<Bool>.bool(
        "follow", default: false,
        "Source, sync mode cdc: keep streaming after catching up, until Cancel or SIGTERM (which end after the current transaction). Default: a bounded run that stops at the server's WAL position at its start.")

    init(_ reader: inout ConfigReader) {
        slot = reader.read(Self.slotSetting)
        publication = reader.read(Self.publicationSetting)
        follow = reader.read(Self.followSetting)
        if let slot, !Self.isValidSlotName(slot) {
            reader.problem("cdc_slot", "a replication slot name is 1 to 63 lower-case letters, digits and underscores") as Void?
        }
        if let publication, publication.utf8.contains(0) {
            reader.problem("cdc_publication", "a publication name has no NUL byte") as Void?
        }
    }

    /// Whether the configuration asks for change data capture by name (Check then verifies it).
    var isConfigured: Bool { slot != nil || publication != nil }

    /// The slot name, or `sluice_<database>` (the database name reduced to slot characters).
    func slotName(database: String) -> String { slot ?? Self.derivedName(database) }

    /// The publication name, or `sluice_<database>` like the slot.
    func publicationName(database: String) -> String { publication ?? Self.derivedName(database) }

    /// `sluice_` and `database` lower-cased, every character outside `[a-z0-9_]` replaced by `_`,
    /// cut to 63 bytes.
    static func derivedName(_ database: String) -> String {
        let body = database.lowercased().unicodeScalars.map { scalar -> Character in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        }
        return String(("sluice_" + String(body)).prefix(63))
    }

    /// PostgreSQL's rule for slot names.
    static func isValidSlotName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 63 && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
