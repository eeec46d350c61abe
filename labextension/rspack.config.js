// Module ids from the order modules are used, not from their absolute paths: the same sources give the
// same bundle (and wheel) wherever the repository is checked out.
module.exports = {
  optimization: { moduleIds: 'natural', chunkIds: 'natural' }
};
