import SluiceWire

extension RecordBatch {
    /// For a batch of PostgreSQL rows (PROTOCOL.md §5.12) of `fields` fields each: calls `body`
    /// with each row's field `index`, as where its bytes start and its length (-1 for NULL), in
    /// row order. False when the rows break their layout (a validated batch never does).
    func eachPostgresField(_ index: Int, fields: Int, _ body: (_ start: Int, _ length: Int) -> Void) -> Bool {
        let rows = postgresRows
        do throws(ProtocolError) {
            _ = try PostgresRows.walk(rows, fields: fields) { range throws(ProtocolError) in
                var at = range.lowerBound
                for _ in 0 ..< index { at += 4 + max(Int(Int32(bitPattern: BigEndian.u32(rows, at))), 0) }
                body(at + 4, Int(Int32(bitPattern: BigEndian.u32(rows, at))))
            }
            return true
        } catch {
            return false
        }
    }
}
