//! Dropping a query's stream stops the split streams under it.

use crate::common;

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use async_trait::async_trait;
use datafusion::error::Result;
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream};
use futures::{Stream, StreamExt};
use quarry_sql::{LocalSplitSource, QuarryCatalogs, QueryEngine, SplitSource, SplitTask};

/// Counts split streams opened and dropped.
#[derive(Debug)]
struct CountingSource {
    inner: LocalSplitSource,
    opened: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

struct Counted {
    inner: SendableRecordBatchStream,
    dropped: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

impl Stream for Counted {
    type Item = Result<RecordBatch>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl RecordBatchStream for Counted {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
}

#[async_trait]
impl SplitSource for CountingSource {
    async fn open(&self, task: &SplitTask) -> Result<SendableRecordBatchStream> {
        let inner = self.inner.open(task).await?;
        self.opened.fetch_add(1, Ordering::SeqCst);
        Ok(Box::pin(Counted {
            inner,
            dropped: Arc::clone(&self.dropped),
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_query_stream_drops_every_split_stream() {
    let (rt, plugin) = common::tpch_plugin().await;
    let connector = common::open(&rt, &plugin, "tpch", &[("splits", "2")]);
    let opened = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));
    let source = CountingSource {
        inner: LocalSplitSource::new(connector.clone()),
        opened: Arc::clone(&opened),
        dropped: Arc::clone(&dropped),
    };
    let catalogs = QuarryCatalogs::new();
    catalogs.set_catalog("tpch", common::version(1), connector, Arc::new(source));
    let engine = QueryEngine::new(catalogs);

    // sf1's lineitem is six million rows: reading it to the end would take minutes.
    let mut stream = engine
        .sql_stream("SELECT l_orderkey, l_comment FROM tpch.sf1.lineitem")
        .await
        .unwrap();
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.num_rows() > 0);
    assert!(opened.load(Ordering::SeqCst) >= 1);
    drop(stream);

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (o, d) = (
            opened.load(Ordering::SeqCst),
            dropped.load(Ordering::SeqCst),
        );
        if o == d {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{o} split streams opened, only {d} dropped"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
