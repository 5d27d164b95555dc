//! What the catalog test files share: a throw-away database per test (SQLite in a
//! temp dir, or a fresh PostgreSQL database on the server named by
//! `FERROCAST_TEST_POSTGRES_URL`) and [`both_backends!`], which runs a test on each.

#![allow(dead_code)]

use origin::catalog::Catalog;
use sqlx::Executor;

/// A database for one test; PostgreSQL databases are dropped at the end.
pub(crate) struct TestDb {
    pub(crate) url: String,
    pub(crate) data_dir: tempfile::TempDir,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    pub(crate) fn sqlite() -> Self {
        Self {
            url: "sqlite://catalog.db".into(),
            data_dir: tempfile::tempdir().unwrap(),
            pg_admin: None,
        }
    }

    pub(crate) async fn postgres() -> Option<Self> {
        let Ok(base) = std::env::var("FERROCAST_TEST_POSTGRES_URL") else {
            if std::env::var("FERROCAST_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("FERROCAST_REQUIRE_POSTGRES=1 but FERROCAST_TEST_POSTGRES_URL is unset");
            }
            eprintln!("PostgreSQL half skipped: FERROCAST_TEST_POSTGRES_URL is unset (./dev test sets it)");
            return None;
        };
        sqlx::any::install_default_drivers();
        let name = format!("fc_test_{}", rand_suffix());
        let admin = sqlx::AnyPool::connect(&base)
            .await
            .expect("connect to test PostgreSQL");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        admin.close().await;
        let (prefix, _) = base.rsplit_once('/').expect("URL with a database");
        Some(Self {
            url: format!("{prefix}/{name}"),
            data_dir: tempfile::tempdir().unwrap(),
            pg_admin: Some((base, name)),
        })
    }

    pub(crate) async fn open(&self) -> Catalog {
        Catalog::open(&self.url, self.data_dir.path())
            .await
            .unwrap()
    }

    pub(crate) async fn drop_pg(self) {
        if let Some((base, name)) = self.pg_admin {
            let admin = sqlx::AnyPool::connect(&base).await.unwrap();
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await
                .unwrap();
            admin.close().await;
        }
    }
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// Runs `body` against SQLite, then PostgreSQL when available.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let db = TestDb::sqlite();
                super::$name(&db).await;
            }

            #[tokio::test]
            async fn postgres() {
                if let Some(db) = TestDb::postgres().await {
                    super::$name(&db).await;
                    db.drop_pg().await;
                }
            }
        }
    };
}
