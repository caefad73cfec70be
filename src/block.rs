//! Blocks: a header (a signed tree head), the transactions, and k-of-n authority seals (DESIGN.md §4).

use crate::codec::{Decode, DecodeError, DecodeErrorKind, Encode, Reader, put_len, put_short_len};
use crate::hash::{Domain, Hash256, domain_hash};
use crate::ids::{ActorId, BlockHash, ChainId, TxId};
use crate::keys::{Signature, SigningKey};
use crate::merkle::leaf_hash;
use crate::tx::{FORMAT_VERSION, SignedTx, id_of_encoded, read_version};

/// Most transactions in one block.
pub const MAX_TXS_PER_BLOCK: usize = 65_536;
/// Longest encoded transaction, in bytes.
pub const MAX_TX_LEN: usize = 64 * 1024;
/// Largest encoded transaction section of a block the ledger will build (the file format allows 64 MiB).
pub const MAX_BLOCK_BYTES: usize = 32 * 1024 * 1024;
/// Most seals on one block.
pub const MAX_SEALS: usize = 64;

/// A block header. Its hash is what authorities seal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    /// The ledger.
    pub chain: ChainId,
    /// 0 for the genesis block, then +1 per block.
    pub height: u64,
    /// Hash of the previous header (all zeros for genesis).
    pub prev_hash: BlockHash,
    /// Sealing time, ms since the Unix epoch; never decreases.
    pub timestamp: u64,
    /// Number of transactions in this block.
    pub tx_count: u32,
    /// Size of the ledger's Merkle tree after this block (all transactions so far).
    pub tree_size: u64,
    /// Root of that tree.
    pub tree_root: Hash256,
    /// The authority that proposed and sealed the block.
    pub proposer: ActorId,
}

impl BlockHeader {
    /// The block hash.
    pub fn hash(&self) -> BlockHash {
        BlockHash(domain_hash(Domain::BlockHash, &[&self.to_bytes()]))
    }
}

/// The exact bytes an authority signs to seal the block `hash`.
pub fn seal_message(hash: &BlockHash) -> Vec<u8> {
    Domain::Seal.message(&[hash.as_bytes()])
}

/// An authority's signature over a block hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seal {
    /// The authority.
    pub authority: ActorId,
    /// Its signature over `seal_message(header.hash())`.
    pub signature: Signature,
}

impl Seal {
    /// Seals `hash` as `authority` with `key`.
    pub fn sign(authority: ActorId, key: &SigningKey, hash: &BlockHash) -> Self {
        Self { authority, signature: key.sign(&seal_message(hash)) }
    }
}

/// A block: header, transactions and seals (seals sorted by authority id, one per authority).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions, in ledger order; as many as `header.tx_count`.
    pub txs: Vec<SignedTx>,
    /// The seals.
    pub seals: Vec<Seal>,
}

impl Encode for BlockHeader {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(FORMAT_VERSION);
        self.chain.encode(out);
        self.height.encode(out);
        self.prev_hash.encode(out);
        self.timestamp.encode(out);
        out.extend_from_slice(&self.tx_count.to_le_bytes());
        self.tree_size.encode(out);
        self.tree_root.encode(out);
        self.proposer.encode(out);
    }
}

impl Decode for BlockHeader {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(r)?;
        Ok(Self {
            chain: ChainId::decode(r)?,
            height: r.u64()?,
            prev_hash: BlockHash::decode(r)?,
            timestamp: r.u64()?,
            tx_count: {
                let at = r.position();
                let count = r.u32()?;
                if usize::try_from(count).map_or(true, |c| c > MAX_TXS_PER_BLOCK) {
                    return Err(r.error_at(
                        at,
                        DecodeErrorKind::TooLong {
                            what: "transactions per block",
                            len: u64::from(count),
                            max: MAX_TXS_PER_BLOCK as u64,
                        },
                    ));
                }
                count
            },
            tree_size: r.u64()?,
            tree_root: Hash256::decode(r)?,
            proposer: ActorId::decode(r)?,
        })
    }
}

impl Encode for Seal {
    fn encode(&self, out: &mut Vec<u8>) {
        self.authority.encode(out);
        self.signature.encode(out);
    }
}

impl Decode for Seal {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { authority: ActorId::decode(r)?, signature: Signature::decode(r)? })
    }
}

/// A block's encoding from its transactions' encodings (each exactly `SignedTx::to_bytes`): the same bytes
/// as [`Block::to_bytes`], without encoding the transactions again.
pub(crate) fn encode_block<'a>(
    header: &BlockHeader,
    txs: impl IntoIterator<Item = &'a [u8]>,
    seals: &[Seal],
) -> Vec<u8> {
    let mut out = Vec::new();
    header.encode(&mut out);
    for tx in txs {
        put_len(&mut out, tx.len());
        out.extend_from_slice(tx);
    }
    put_short_len(&mut out, seals.len());
    for seal in seals {
        seal.encode(&mut out);
    }
    out
}

impl Encode for Block {
    fn encode(&self, out: &mut Vec<u8>) {
        self.header.encode(out);
        for tx in &self.txs {
            let start = out.len();
            put_len(out, 0);
            tx.encode(out);
            let len = out.len() - start - 4;
            let prefix = u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes();
            if let Some(slot) = out.get_mut(start..start + 4) {
                slot.copy_from_slice(&prefix);
            }
        }
        put_short_len(out, self.seals.len());
        for seal in &self.seals {
            seal.encode(out);
        }
    }
}

impl Decode for Block {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_block(r, |_| {})
    }
}

impl Block {
    /// Decodes a whole block, also giving each transaction's id and Merkle leaf hash, hashed from the bytes
    /// as read (canonical, so the same as hashing their re-encoding), without encoding anything again.
    pub fn from_bytes_hashed(bytes: &[u8]) -> Result<(Self, Vec<(TxId, Hash256)>), DecodeError> {
        let mut reader = Reader::new(bytes);
        let mut leaves = Vec::new();
        let block = decode_block(&mut reader, |tx| leaves.push((id_of_encoded(tx), leaf_hash(tx))))?;
        reader.finish()?;
        Ok((block, leaves))
    }
}

/// Decodes a block, calling `on_tx` with the bytes of each transaction that decoded.
fn decode_block(r: &mut Reader<'_>, mut on_tx: impl FnMut(&[u8])) -> Result<Block, DecodeError> {
    let header = BlockHeader::decode(r)?;
    let count = usize::try_from(header.tx_count).unwrap_or(usize::MAX);
    let mut txs = Vec::with_capacity(count.min(1024));
    for _ in 0..count {
        let len = r.len("transaction", MAX_TX_LEN)?;
        let start = r.position();
        let bytes = r.take(len)?;
        let tx = SignedTx::from_bytes(bytes).map_err(|e| DecodeError { offset: start + e.offset, kind: e.kind })?;
        on_tx(bytes);
        txs.push(tx);
    }
    let count = r.short_len("seals", MAX_SEALS)?;
    let mut seals: Vec<Seal> = Vec::with_capacity(count);
    for _ in 0..count {
        let at = r.position();
        let seal = Seal::decode(r)?;
        if seals.last().is_some_and(|last| last.authority >= seal.authority) {
            return Err(r.error_at(at, DecodeErrorKind::NonCanonical("seal order")));
        }
        seals.push(seal);
    }
    Ok(Block { header, txs, seals })
}
