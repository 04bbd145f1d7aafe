//! Rebuild when a migration changes: `sqlx::migrate!` embeds the migration files at compile time,
//! and cargo does not know about them otherwise. No database is touched at build time.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
