/// Where in a flush the value PostgreSQL rejected is, read from the error's context line that
/// binary COPY gives (`COPY <table>, line <n>, column <name>`).
enum RejectedValue {
    /// `stream <s>, column "<c>", row <r>` for a value a COPY of `flush` rejected, with `c` the
    /// stream's column name and `r` its row in the stream (1-based); nil when the context does
    /// not say (a rejection by a later statement, such as a cast from staging).
    static func place(_ context: String?, flush: Flush) -> String? {
        guard let first = context?.split(separator: "\n").first else { return nil }
        let table = flush.usesStaging ? flush.plan.staging : flush.plan.writeTable
        let prefix = "COPY \(table), line "
        guard first.hasPrefix(prefix) else { return nil }
        let rest = first.dropFirst(prefix.count)
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        guard let line = Int(digits), line >= 1, line <= flush.rows else { return nil }
        let row = "row \(flush.firstRow + line)"
        let columnPrefix = ", column "
        let afterLine = rest.dropFirst(digits.count)
        guard afterLine.hasPrefix(columnPrefix) else { return "stream \(flush.plan.stream), \(row)" }
        let name = String(afterLine.dropFirst(columnPrefix.count))
        guard let index = flush.plan.columns.firstIndex(where: { $0.name.isExactly(name) }) else {
            return "stream \(flush.plan.stream), \(row)"
        }
        return "stream \(flush.plan.stream), column \"\(flush.plan.schema.columns[index].name)\", \(row)"
    }
}
