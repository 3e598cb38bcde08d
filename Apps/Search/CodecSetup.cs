using Lucene.Net.Codecs;
using Lucene.Net.Codecs.Lucene41;
using Lucene.Net.Codecs.Lucene45;
using Lucene.Net.Codecs.Lucene46;

namespace Libra.Apps.Search;

// Lucene.Net's default factories find codecs by reflection, which NativeAOT trims away
// ("No parameterless constructor defined for type 'Lucene46Codec'", apache/lucenenet#1278).
// The index only ever uses the 4.6 codec with its default formats, so hand those out directly.
static class CodecSetup
{
    public static void Register()
    {
        Codec.SetCodecFactory(new CodecFactory());
        PostingsFormat.SetPostingsFormatFactory(new PostingsFactory());
        DocValuesFormat.SetDocValuesFormatFactory(new DocValuesFactory());
    }

    sealed class CodecFactory : ICodecFactory
    {
        readonly Codec codec = new Lucene46Codec();
        public Codec GetCodec(string name) =>
            name == codec.Name ? codec : throw new ArgumentException($"codec '{name}' is not built into this binary");
    }

    sealed class PostingsFactory : IPostingsFormatFactory
    {
        readonly PostingsFormat format = new Lucene41PostingsFormat();
        public PostingsFormat GetPostingsFormat(string name) =>
            name == format.Name ? format : throw new ArgumentException($"postings format '{name}' is not built into this binary");
    }

    sealed class DocValuesFactory : IDocValuesFormatFactory
    {
        readonly DocValuesFormat format = new Lucene45DocValuesFormat();
        public DocValuesFormat GetDocValuesFormat(string name) =>
            name == format.Name ? format : throw new ArgumentException($"doc values format '{name}' is not built into this binary");
    }
}
