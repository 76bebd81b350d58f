/// Settings every plugin session applies.
enum SessionSettings {
    /// Turns off the server or role defaults that end idle or long transactions: a read holds
    /// its snapshot while the host is slow, a write holds its transaction open between States.
    /// (`transaction_timeout` exists from PostgreSQL 17.)
    static func keepTransactionsOpen(serverVersion: Int) -> String {
        "SET idle_in_transaction_session_timeout = 0" + (serverVersion >= 170_000 ? "; SET transaction_timeout = 0" : "")
    }
}
