//! [`ConnectorScanCodec`]: how a [`ConnectorScanExec`] crosses from the coordinator to a worker,
//! and [`ScanSources`], where the decoding side finds the connector to read it with.
//!
//! The encoding is the scan's [`ScanDescription`] as JSON, behind its length (4 bytes, little
//! endian), then the batch schema in DataFusion's protobuf encoding. It names the catalog and
//! its version; it carries no property and no secret. The decoding side asks its
//! [`ScanSources`] for a reader of that catalog at exactly that version, and fails the task
//! with the reason when it has none: a worker never reads another version than the one planned.

use std::fmt;
use std::sync::Arc;

use arrow_schema::Schema;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};
use datafusion_proto::protobuf;
use prost::Message;

use crate::catalog_version::CatalogVersion;
use crate::connector_scan_exec::{ConnectorScanExec, ScanDescription};
use crate::split_source::SplitSource;

/// Where a process that runs scans finds the reader of a catalog version.
pub trait ScanSources: fmt::Debug + Send + Sync {
    /// The split source of `catalog` at exactly `version`, or why this process cannot read it
    /// (a sentence that names this process, the catalog and the version it holds, if any).
    fn source(
        &self,
        catalog: &str,
        version: CatalogVersion,
    ) -> std::result::Result<Arc<dyn SplitSource>, String>;
}

/// Encodes and decodes [`ConnectorScanExec`]; decoded scans read through `sources`.
#[derive(Debug, Clone)]
pub struct ConnectorScanCodec {
    sources: Arc<dyn ScanSources>,
}

impl ConnectorScanCodec {
    pub fn new(sources: Arc<dyn ScanSources>) -> Self {
        ConnectorScanCodec { sources }
    }
}

fn codec_error(what: impl fmt::Display) -> DataFusionError {
    DataFusionError::Internal(format!("connector scan encoding: {what}"))
}

impl PhysicalExtensionCodec for ConnectorScanCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        _ctx: &TaskContext,
        _proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !inputs.is_empty() {
            return Err(codec_error(format!(
                "a connector scan has no inputs, this one came with {}",
                inputs.len()
            )));
        }
        let (length, rest) = buf
            .split_first_chunk::<4>()
            .ok_or_else(|| codec_error("truncated"))?;
        let length = usize::try_from(u32::from_le_bytes(*length)).map_err(codec_error)?;
        if rest.len() < length {
            return Err(codec_error("truncated"));
        }
        let (description, schema) = rest.split_at(length);
        let scan: ScanDescription = serde_json::from_slice(description).map_err(codec_error)?;
        let schema = protobuf::Schema::decode(schema).map_err(codec_error)?;
        let schema = Schema::try_from(&schema)?;
        let source = self
            .sources
            .source(&scan.catalog, scan.version)
            .map_err(DataFusionError::Execution)?;
        Ok(Arc::new(ConnectorScanExec::try_new(
            scan,
            Arc::new(schema),
            source,
        )?))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        _proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let Some(scan) = node.downcast_ref::<ConnectorScanExec>() else {
            return Err(codec_error(format!(
                "{} is not a connector scan",
                node.name()
            )));
        };
        let description = serde_json::to_vec(scan.description()).map_err(codec_error)?;
        let length = u32::try_from(description.len()).map_err(codec_error)?;
        let schema = protobuf::Schema::try_from(scan.batch_schema().as_ref())?;
        buf.extend_from_slice(&length.to_le_bytes());
        buf.extend_from_slice(&description);
        schema.encode(buf).map_err(codec_error)?;
        Ok(())
    }
}
