// ARX side of benchmarks/bench_large_domain.py. Build: javac src/main of arx-deidentifier/arx
// (aacd487fb) against lib/ant/*.jar, with stub classes for the three jars missing from the
// snapshot (pdfbox-app, hadoop-core Writable, poi-ooxml-schemas: unused on this path); then
//   python benchmarks/large_domain.py --write-arx /tmp/ldcase
//   java -Xmx2g -cp bench:classes:lib/ant/... LargeDomain /tmp/ldcase t 3   (t | r | e | d | q | o)
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.deidentifier.arx.*;
import org.deidentifier.arx.AttributeType.Hierarchy;
import org.deidentifier.arx.criteria.*;
import org.deidentifier.arx.metric.Metric;

public class LargeDomain {
    static final String[] QI = {"sex","age","race","marital-status","education","native-country","workclass","occupation"};
    public static void main(String[] args) throws Exception {
        String dir = args[0]; String which = args[1]; int repeat = Integer.parseInt(args[2]);
        for (int r = 0; r < repeat; r++) {
            long t0 = System.nanoTime();
            Data data = Data.create(dir + "/data.csv", StandardCharsets.UTF_8, ';');
            for (String q : QI) data.getDefinition().setAttributeType(q, Hierarchy.create(dir + "/hierarchy_" + q + ".csv", StandardCharsets.UTF_8, ';'));
            data.getDefinition().setAttributeType("diagnosis", AttributeType.SENSITIVE_ATTRIBUTE);
            Hierarchy dh = Hierarchy.create(dir + "/hierarchy_diagnosis.csv", StandardCharsets.UTF_8, ';');
            ARXConfiguration config = ARXConfiguration.create();
            config.addPrivacyModel(new KAnonymity(5));
            if (which.equals("t")) config.addPrivacyModel(new HierarchicalDistanceTCloseness("diagnosis", 0.2, dh));
            else if (which.equals("r")) config.addPrivacyModel(new RecursiveCLDiversity("diagnosis", 4, 5));
            else if (which.equals("e")) config.addPrivacyModel(new EntropyLDiversity("diagnosis", 5));
            else if (which.equals("d")) config.addPrivacyModel(new DistinctLDiversity("diagnosis", 5));
            else if (which.equals("q")) config.addPrivacyModel(new EqualDistanceTCloseness("diagnosis", 0.2));
            else if (which.equals("o")) config.addPrivacyModel(new OrderedDistanceTCloseness("diagnosis", 0.2));
            config.setSuppressionLimit(0.05);
            config.setQualityModel(Metric.createEntropyMetric(true));
            ARXAnonymizer anonymizer = new ARXAnonymizer();
            long t1 = System.nanoTime();
            ARXResult result = anonymizer.anonymize(data, config);
            long t2 = System.nanoTime();
            ARXLattice.ARXNode opt = result.getGlobalOptimum();
            int checked = 0;
            for (ARXLattice.ARXNode[] level : result.getLattice().getLevels()) for (ARXLattice.ARXNode n : level) if (n.isChecked()) checked++;
            System.out.println(which + " run " + r + ": anonymize " + (t2 - t1) / 1e9 + " s, with loading " + (t2 - t0) / 1e9
                + " s, ARX time " + result.getTime() / 1e3 + " s, checked " + checked
                + ", optimum " + (opt == null ? "none" : Arrays.toString(opt.getTransformation()) + " loss " + opt.getHighestScore()));
        }
    }
}
